"""Model files: safe ``.skops`` archives, or pickles (``.pkl``, ``.joblib``).

``.skops`` files are written and read with `skops <https://skops.readthedocs.io>`_,
which builds objects from a JSON schema and numpy arrays and never runs pickle.
skops knows neither torch tensors nor skorch nets; this module teaches it both,
without pickle:

* a torch tensor (or ``Parameter``) is stored as a numpy array (bfloat16 as
  float32) with its dtype and ``requires_grad``, and rebuilt with
  ``torch.from_numpy``;
* a skorch net is stored attribute by attribute (``module_`` and ``criterion_``
  as torch modules, which skops stores as objects, their tensors as above),
  instead of through skorch's own ``__getstate__``, whose bytes are a pickle.
  A net is loaded on the CPU, or on its CUDA device when there is one.

Loading checks every type of the archive against a list of trusted types:
skops' own (numpy, scipy, scikit-learn) plus :func:`trusted_types`, the types
skens' estimators are made of, plus those passed as ``trusted``.
Pickles (``.pkl``, ``.pickle``, ``.joblib``) go through :mod:`joblib`: load
them only from sources you trust.
"""

import functools
import importlib
import inspect
import pkgutil
from pathlib import Path

__all__ = ["load_model", "save_model", "trusted_types"]

_SKOPS_SUFFIXES = (".skops",)
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")

# Types fitted skens estimators hold besides skops' defaults and skens' own
# classes (which _skens_classes finds): parts of skorch nets and torch modules.
# tests/test_io.py checks that every estimator kind's fitted archive needs no other.
_OTHER_TYPES = [
    "collections.OrderedDict",
    "functools.partial",
    "skorch.history.History",
    "skorch.setter.optimizer_setter",
    "torch.nn.modules.activation.GELU",
    "torch.nn.modules.activation.ReLU",
    "torch.nn.modules.activation.SiLU",
    "torch.nn.modules.activation.Sigmoid",
    "torch.nn.modules.activation.Tanh",
    "torch.nn.modules.container.ModuleList",
    "torch.nn.modules.container.Sequential",
    "torch.nn.modules.dropout.Dropout",
    "torch.nn.modules.linear.Identity",
    "torch.nn.modules.linear.Linear",  # HyperTab's hypernetwork
]

# Subpackages whose classes fitted estimators are built from.
_SKENS_PACKAGES = ("skens.deep", "skens.nn", "skens.preprocessing")


@functools.cache
def _skens_classes():
    """``module.qualname`` of the classes defined in :data:`_SKENS_PACKAGES`.

    Skorch nets are left out on purpose: skorch's ``__setstate__`` unpickles
    bytes, so a net is only ever built by this module's own loader (which
    trusts skens' nets and calls no ``__setstate__``), never by skops'
    generic object loader. Exceptions are left out too.
    """
    from skorch import NeuralNet

    names = set()
    for package_name in _SKENS_PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__, prefix=f"{package_name}."):
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if cls.__module__ != module.__name__ or issubclass(
                    cls, (NeuralNet, BaseException)
                ):
                    continue
                names.add(f"{cls.__module__}.{cls.__qualname__}")
    return frozenset(names)


def _skens_nets():
    """``module.qualname`` of skens' skorch net classes (built by ``SkensNetNode`` only)."""
    from skorch import NeuralNet

    names = []
    for package_name in _SKENS_PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.iter_modules(package.__path__, prefix=f"{package_name}."):
            module = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if cls.__module__ == module.__name__ and issubclass(cls, NeuralNet):
                    names.append(f"{cls.__module__}.{cls.__qualname__}")
    return names


def trusted_types():
    """The types that skens' fitted estimators are made of, for loading ``.skops`` files.

    :func:`load_model` trusts them (and skops' defaults: numpy, scipy,
    scikit-learn) without being told. Load skens' ``.skops`` files with
    :func:`load_model`: it first teaches skops the torch tensors and skorch
    nets they hold (``skops.io.load`` alone does not know them). The list
    names classes and functions only, never "everything"; skorch nets are
    not in it (only skens' own net loader builds them, never skorch's
    ``__setstate__``, which unpickles).

    Returns
    -------
    types : list of str
        Sorted type names, ``'module.qualname'``.

    Examples
    --------
    >>> from skens.io import trusted_types
    >>> "skens.deep._deep_ensemble.DeepEnsembleClassifier" in trusted_types()
    True
    """
    return sorted(_skens_classes() | set(_OTHER_TYPES))


# ------------------------------------------------------------------ skops support
_REGISTERED = False


def _register_skops():
    """Teach skops torch tensors and skorch nets (once per process)."""
    global _REGISTERED
    if _REGISTERED:
        return
    import numpy as np
    import torch
    from skops.io import _audit, _utils
    from skops.io._audit import Node, get_tree
    from skops.io._protocol import PROTOCOL
    from skops.io._utils import get_module, get_state, gettype
    from skorch import NeuralNet

    def tensor_get_state(obj, save_context):
        tensor = obj.detach().cpu()
        dtype = str(tensor.dtype).removeprefix("torch.")
        if tensor.dtype == torch.bfloat16:
            tensor = tensor.float()
        return {
            "__class__": type(obj).__name__,
            "__module__": get_module(type(obj)),
            "__loader__": "SkensTensorNode",
            "content": get_state(tensor.numpy(), save_context),
            "dtype": dtype,
            "requires_grad": bool(obj.requires_grad),
        }

    class SkensTensorNode(Node):
        def __init__(self, state, load_context, trusted=None):
            super().__init__(state, load_context, trusted)
            self.content = get_tree(state["content"], load_context, trusted=trusted)
            self.dtype = state["dtype"]
            self.requires_grad = bool(state["requires_grad"])
            self.children = {"content": self.content}
            self.trusted = self._get_trusted(
                trusted, ["torch.Tensor", "torch.nn.parameter.Parameter"]
            )

        def _construct(self):
            dtype = getattr(torch, self.dtype, None)
            if not isinstance(dtype, torch.dtype):
                raise TypeError(f"unknown torch dtype {self.dtype!r} in the archive")
            array = np.asarray(self.content.construct())
            tensor = torch.from_numpy(array.copy()).to(dtype)
            if f"{self.module_name}.{self.class_name}" == "torch.nn.parameter.Parameter":
                return torch.nn.Parameter(tensor, requires_grad=self.requires_grad)
            return tensor.requires_grad_(self.requires_grad)

    def net_get_state(obj, save_context):
        # skorch's __getstate__ pickles the module, criterion and optimizer: store
        # the attributes themselves instead (trimmed nets have no optimizer).
        return {
            "__class__": type(obj).__name__,
            "__module__": get_module(type(obj)),
            "__loader__": "SkensNetNode",
            "content": get_state(dict(obj.__dict__), save_context),
        }

    class SkensNetNode(Node):
        def __init__(self, state, load_context, trusted=None):
            super().__init__(state, load_context, trusted)
            self.attrs = get_tree(state["content"], load_context, trusted=trusted)
            self.children = {"attrs": self.attrs}
            self.trusted = self._get_trusted(trusted, _skens_nets())

        def _construct(self):
            cls = gettype(self.module_name, self.class_name)
            if not (isinstance(cls, type) and issubclass(cls, NeuralNet)):
                raise TypeError(f"{self.module_name}.{self.class_name} is not a skorch net")
            net = cls.__new__(cls)
            net.__dict__.update(self.attrs.construct())
            device = str(net.__dict__.get("device", "cpu"))
            if device.startswith("cuda") and not torch.cuda.is_available():
                device = "cpu"
            net.device = device
            for name, value in list(net.__dict__.items()):
                if name.endswith("_") and isinstance(value, torch.nn.Module):
                    value.to(device)
            return net

    def torch_value_get_state(obj, save_context):
        return {
            "__class__": type(obj).__name__,
            "__module__": get_module(type(obj)),
            "__loader__": "SkensTorchValueNode",
            "content": str(obj),
        }

    class SkensTorchValueNode(Node):
        # torch.dtype and torch.device, from their names
        def __init__(self, state, load_context, trusted=None):
            super().__init__(state, load_context, trusted)
            self.content = str(state["content"])
            self.children = {}
            self.trusted = self._get_trusted(trusted, ["torch.dtype", "torch.device"])

        def _construct(self):
            kind = f"{self.module_name}.{self.class_name}"
            if kind == "torch.device":
                return torch.device(self.content)
            dtype = getattr(torch, self.content.removeprefix("torch."), None)
            if kind != "torch.dtype" or not isinstance(dtype, torch.dtype):
                raise TypeError(f"not a torch dtype or device: {kind} {self.content!r}")
            return dtype

    _utils._get_state.register(torch.dtype)(torch_value_get_state)
    _utils._get_state.register(torch.device)(torch_value_get_state)
    _audit.NODE_TYPE_MAPPING[("SkensTorchValueNode", PROTOCOL)] = SkensTorchValueNode
    _utils._get_state.register(torch.Tensor)(tensor_get_state)
    _utils._get_state.register(NeuralNet)(net_get_state)
    _audit.NODE_TYPE_MAPPING[("SkensTensorNode", PROTOCOL)] = SkensTensorNode
    _audit.NODE_TYPE_MAPPING[("SkensNetNode", PROTOCOL)] = SkensNetNode
    _REGISTERED = True


# ------------------------------------------------------------------ public API
class UntrustedTypesError(ValueError):
    """A ``.skops`` archive holds types that are not trusted."""


def _format(path):
    name = Path(path).name.lower()
    if name.endswith(_SKOPS_SUFFIXES):
        return "skops"
    if name.endswith(_PICKLE_SUFFIXES):
        return "pickle"
    raise ValueError(
        f"unknown model file extension in {str(path)!r}: use .skops (safe) or "
        ".pkl / .pickle / .joblib (pickle)"
    )


def save_model(model, path):
    """Save a model to ``path``, in the format its extension names.

    ``.skops``: a skops archive, loaded without pickle (see :func:`load_model`).
    ``.pkl``, ``.pickle``, ``.joblib``: a pickle written by :func:`joblib.dump`.

    Parameters
    ----------
    model : object
        A fitted skens estimator, or a scikit-learn pipeline or meta-estimator
        holding one (anything skops or pickle can store).
    path : str or path-like
        The file to write (overwritten if present).

    Returns
    -------
    path : pathlib.Path
        The file written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn.linear_model import LinearRegression
    >>> from skens.io import load_model, save_model
    >>> model = LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0])
    >>> path = save_model(model, pathlib.Path(tempfile.mkdtemp()) / "model.skops")
    >>> load_model(path).predict([[2.0]])
    array([4.])
    """
    path = Path(path)
    kind = _format(path)
    if kind == "pickle":
        import joblib

        joblib.dump(model, path)
        return path
    import skops.io as sio

    _register_skops()
    sio.dump(model, path)
    return path


def load_model(path, *, trusted=None):
    """Load a model saved by :func:`save_model`.

    A ``.skops`` archive is audited before anything is built: every type in
    it must be among skops' defaults (numpy, scipy, scikit-learn),
    :func:`trusted_types` or ``trusted``, else nothing is loaded. Pickle files
    run arbitrary code when loaded: load only those you trust.

    Parameters
    ----------
    path : str or path-like
        A ``.skops``, ``.pkl``, ``.pickle`` or ``.joblib`` file.
    trusted : list of str, default=None
        Further types to trust in a ``.skops`` archive (``'module.qualname'``),
        e.g. a custom transformer of a pipeline. Ignored for pickles.

    Returns
    -------
    model : object
        The loaded model.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    UntrustedTypesError
        When a ``.skops`` archive holds types that are not trusted (the error
        names them).
    ValueError
        When the extension is unknown or the file is not a readable model file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklearn.linear_model import LinearRegression
    >>> from skens.io import load_model, save_model
    >>> model = LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0])
    >>> path = save_model(model, pathlib.Path(tempfile.mkdtemp()) / "model.pkl")
    >>> load_model(path).predict([[2.0]])
    array([4.])
    """
    path = Path(path)
    kind = _format(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such model file: {str(path)!r}")
    if kind == "pickle":
        import joblib

        try:
            return joblib.load(path)
        except Exception as exc:
            raise ValueError(f"cannot read the pickle {str(path)!r}: {exc}") from exc
    import zipfile

    import skops.io as sio

    _register_skops()
    allowed = trusted_types() + list(trusted or [])
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ValueError(f"cannot read the skops archive {str(path)!r}: {exc}") from exc
    unsafe = sorted(set(untrusted) - set(allowed))
    if unsafe:
        raise UntrustedTypesError(
            f"{str(path)!r} holds types that are not trusted: {', '.join(unsafe)} "
            "(pass them as trusted=[...] only if you trust the file's source)"
        )
    try:
        return sio.load(path, trusted=allowed)
    except Exception as exc:
        raise ValueError(f"cannot load the skops archive {str(path)!r}: {exc}") from exc
