"""
================================================
Out-of-core training with partial_fit on memmaps
================================================

Data that does not fit in memory can stay on disk: ``partial_fit`` makes one
pass of mini-batch updates over the rows it is given, so a loop over chunks of
a memory-mapped file trains the network while only one chunk is in memory at a
time. This is the lecture's mini-batch SGD with the data streamed from disk.

Here the file is a :class:`numpy.memmap` written to a temporary directory, one
chunk at a time; in real use it would be written once by whatever produces the
data and could be far larger than memory.
"""

# %%
# Write the data to disk, chunk by chunk
# --------------------------------------
# Labels come from a fixed random "teacher" network plus noise, so every chunk
# follows the same rule.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.preprocessing import StandardScaler

from skbackprop import BackpropClassifier

n_rows, n_features, n_classes, chunk_size = 60_000, 20, 3, 5_000
teacher = np.random.default_rng(0)
A = teacher.normal(size=(n_features, 8))
B = teacher.normal(size=(8, n_classes))


def make_rows(rng, n):
    X = rng.normal(2.0, 3.0, size=(n, n_features)).astype(np.float32)
    logits = np.tanh(((X - 2.0) / 3.0) @ A) @ B
    y = np.argmax(logits + 0.3 * rng.normal(size=logits.shape), axis=1)
    return X, y


tmp = tempfile.TemporaryDirectory()
X_path, y_path = Path(tmp.name) / "X.dat", Path(tmp.name) / "y.dat"
X_disk = np.memmap(X_path, dtype=np.float32, mode="w+", shape=(n_rows, n_features))
y_disk = np.memmap(y_path, dtype=np.int64, mode="w+", shape=(n_rows,))
rng = np.random.default_rng(1)
for start in range(0, n_rows, chunk_size):
    X_disk[start : start + chunk_size], y_disk[start : start + chunk_size] = make_rows(
        rng, chunk_size
    )
X_disk.flush()
y_disk.flush()
del X_disk, y_disk
print(f"{X_path.stat().st_size / 1e6:.1f} MB of features on disk")

X_test, y_test = make_rows(np.random.default_rng(2), 5_000)  # held out, in memory

# %%
# Open the files read-only
# ------------------------
# Slicing a memmap reads only those rows from disk.
X_disk = np.memmap(X_path, dtype=np.float32, mode="r", shape=(n_rows, n_features))
y_disk = np.memmap(y_path, dtype=np.int64, mode="r", shape=(n_rows,))
chunks = [slice(s, s + chunk_size) for s in range(0, n_rows, chunk_size)]

# %%
# Scale out of core too
# ---------------------
# :class:`~sklearn.preprocessing.StandardScaler` also has ``partial_fit``: one
# pass over the chunks gives the mean and variance of the whole file.
scaler = StandardScaler()
for rows in chunks:
    scaler.partial_fit(X_disk[rows])

# %%
# Train: epochs over the chunks
# -----------------------------
# Each ``partial_fit`` call is one pass of mini-batch updates (``batch_size``
# rows each) over one chunk. The first call must name all the classes, since a
# chunk may not contain every one. Visiting the chunks in a new random order
# each epoch plays the role of the lecture's ``shuffle``. The data stay float32
# end to end.
clf = BackpropClassifier(hidden_layer_sizes=(64,), batch_size=200, random_state=0)
classes = np.arange(n_classes)
order_rng = np.random.default_rng(3)
seen, accuracy = [], []
for epoch in range(4):
    for i in order_rng.permutation(len(chunks)):
        rows = chunks[i]
        clf.partial_fit(scaler.transform(X_disk[rows]), y_disk[rows], classes=classes)
        seen.append(clf.t_)
        accuracy.append(clf.score(scaler.transform(X_test), y_test))
    print(f"epoch {epoch + 1}: test accuracy {accuracy[-1]:.3f}")
print("weights dtype:", clf.coefs_[0].dtype)

fig, ax = plt.subplots()
ax.plot(seen, accuracy, marker=".")
for epoch in range(1, 4):
    ax.axvline(epoch * n_rows, color="grey", linewidth=0.5)
ax.set_xlabel("Training samples seen (clf.t_)")
ax.set_ylabel("Held-out accuracy")
ax.set_title("partial_fit over memory-mapped chunks")
plt.show()

# %%
# Clean up the temporary files.
del X_disk, y_disk
tmp.cleanup()
