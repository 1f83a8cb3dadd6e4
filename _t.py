import torch
from torchlayers import Ragged
import torchlayers as tl
from torch._dynamo.testing import CompileCounterWithBackend
m = tl.ragged2list()
cnt = CompileCounterWithBackend("eager")
f = torch.compile(m, fullgraph=True, dynamic=True, backend=cnt)
for L in ([2,0,3],[1,2,3],[1,2,3,4]):
    X = Ragged(torch.randn(sum(L),4), torch.tensor(L))
    print([y.shape for y in f(X)], cnt.frame_count)
def g(l):
    n = l.sum().item()
    return torch.zeros(n)
cnt = CompileCounterWithBackend("eager")
f = torch.compile(g, fullgraph=True, dynamic=True, backend=cnt)
print(f(torch.tensor([1,2])).shape, cnt.frame_count)
