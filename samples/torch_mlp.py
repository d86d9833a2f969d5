# A 2-layer tanh MLP with a softmax cross-entropy loss on 4 samples, written in PyTorch (float64)
# and traced into a scalar graph: every tensor element is a node (W[1,0] as in the array syntax).
# Needs PyTorch: pip install torch (or the extra, pip install 'graphtrace-backprop[torch]').
#   graphtrace trace samples/torch_mlp.py            gradients four ways: paths, backprop, numeric, torch
#   graphtrace trace samples/torch_mlp.py --check    the same as a check (exit 1 on a mismatch)
import torch
import torch.nn.functional as F

import graphtrace

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 3)).double()
X = torch.tensor([[0.5, -1.0], [1.5, 0.2], [-0.3, 0.8], [0.9, 1.1]], dtype=torch.float64)
y = torch.tensor([0, 2, 1, 2])


def loss(X, y):
    return F.cross_entropy(model(X), y)


graph = graphtrace.from_torch(loss, X, y, output_name="L")
print(f"PyTorch: L = {loss(X, y).item():.10f}")
