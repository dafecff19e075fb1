"""Dropout whose CPU mask costs a quarter of the random draws of ``nn.Dropout``.

On the CPU, ``nn.Dropout`` spends most of its time drawing one random number
per element; for an ensemble's ``(n_members, batch, width)`` activations that
can cost more than the matrix multiplications. Here each 64-bit random draw
gives four 16-bit uniform integers, each compared with a threshold: the
dropout probability is represented to 1/65536, and each element is still
dropped independently. On CUDA, torch's fused dropout is already fast and is
used as it is, unless the masks must come from the module's own generator.

With ``generator`` given, masks are drawn from generators the module owns
(one per device, seeded from ``generator`` at construction), never from
torch's global generator: two modules built from equally seeded generators
drop the same elements, and concurrent fits in threads neither share nor
move any global random state.
"""

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["FastDropout"]

_INT16_RANGE = 65536
_INT16_MIN = -32768


class FastDropout(nn.Module):
    """Inverted dropout with a cheap CPU mask.

    Parameters
    ----------
    p : float, default=0.5
        Probability of zeroing each element, in [0, 1).
    generator : torch.Generator, default=None
        A CPU generator (modules are built on the CPU, then moved).
        Seeds the module's own mask generators (one seed is drawn from it at
        construction); ``None`` draws masks from torch's global generator.

    Examples
    --------
    >>> import torch
    >>> from skens.nn import FastDropout
    >>> layer = FastDropout(0.25)
    >>> out = layer(torch.ones(100_000))
    >>> round(float((out == 0).float().mean()), 2), round(float(out.mean()), 1)
    (0.25, 1.0)
    >>> bool(torch.equal(layer.eval()(torch.ones(3)), torch.ones(3)))
    True
    """

    def __init__(self, p=0.5, *, generator=None):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"p must be in [0, 1), got {p!r}.")
        self.p = p
        self.seed = None
        if generator is not None:
            self.seed = int(torch.randint(2**62, (1,), generator=generator))
        self._generators = {}

    def _generator(self, device):
        """The module's own generator on ``device`` (None: torch's global one)."""
        if self.seed is None:
            return None
        key = str(device)
        if key not in self._generators:
            generator = torch.Generator(device=device)
            saved = self.__dict__.get("_saved_states", {}).pop(key, None)
            if saved is None:
                generator.manual_seed(self.seed)
            else:  # a copy or a loaded pickle goes on where the original was
                generator.set_state(saved)
            self._generators[key] = generator
        return self._generators[key]

    def __getstate__(self):
        # Generators are not picklable: their states are (CPU byte tensors,
        # restored on the same device type; another device restarts from the
        # seed), so that a copy draws the masks the original would have drawn next.
        state = self.__dict__.copy()
        saved = dict(state.get("_saved_states", {}))
        saved.update({key: g.get_state() for key, g in self._generators.items()})
        state["_generators"] = {}
        state["_saved_states"] = saved
        return state

    def forward(self, x):
        """Zero each element with probability ``p`` and rescale the others.

        Parameters
        ----------
        x : tensor of any shape
            Activations, e.g. ``(n_members, batch, width)``.

        Returns
        -------
        out : tensor of the same shape as ``x``
            ``x`` with dropped elements zeroed and kept ones multiplied by
            ``1 / (1 - p)`` in training mode; ``x`` itself in evaluation mode
            or when ``p`` is 0.
        """
        if not self.training or self.p == 0:
            return x
        generator = self._generator(x.device)
        if x.device.type != "cpu":
            if generator is None:
                return F.dropout(x, self.p, training=True)
            keep = torch.rand(x.shape, device=x.device, generator=generator) >= self.p
            return x * keep.to(x.dtype).mul_(1.0 / (1.0 - self.p))
        n = x.numel()
        bits = torch.randint(
            -(2**63), 2**63 - 1, ((n + 3) // 4,), dtype=torch.int64, generator=generator
        )
        bits = bits.view(torch.int16)[:n].view(x.shape)
        keep = (bits >= round(self.p * _INT16_RANGE) + _INT16_MIN).to(x.dtype)
        return x * keep.mul_(1.0 / (1.0 - self.p))

    def extra_repr(self):
        return f"p={self.p}"
