"""The training loops: stochastic epochs, L-BFGS, batches, early stopping."""
