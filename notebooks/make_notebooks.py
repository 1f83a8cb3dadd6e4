"""Write the numbered notebooks from the cell sources below (run: python notebooks/make_notebooks.py).

Notebooks read ``TORCHLAYERS_SMALL=1`` (set by the test suite) to run on small settings.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent
NOTEBOOKS = {}


def notebook(name):
    def register(fn):
        NOTEBOOKS[name] = fn
        return fn

    return register


def cells(*items):
    """Strings starting with "<md>" become markdown cells, the rest code cells."""
    return [new_markdown_cell(s.strip()[4:].strip()) if s.strip().startswith("<md>") else new_code_cell(s.strip()) for s in items]


SETUP = """
import os, sys
SMALL = os.environ.get("TORCHLAYERS_SMALL") == "1"
sys.path.insert(0, os.path.abspath(".."))  # the repository root, for examples/ and benchmarks/
import torch, numpy
torch.manual_seed(0)
"""


@notebook("00_quickstart.ipynb")
def quickstart():
    return cells(
        "<md> # 00 · Quickstart: one model, two faces\n\ntorchlayers rebuilds Thinc's layers as `torch.nn.Module`s. "
        "This notebook builds a model with Thinc's operators, infers its shapes from data, trains it through the "
        "**Thinc face** (`model(X, is_train=True) -> (Y, backprop)`) and through the **torch face** (`model(X)`), "
        "and saves and reloads it bitwise.",
        SETUP,
        "from torchlayers import Model, Relu, Dropout, Softmax, chain\n\n"
        "with Model.define_operators({'>>': chain}):\n"
        "    model = Relu(nO=32) >> Dropout(0.1) >> Relu(nO=32) >> Softmax()\n"
        "print(model.name)\n"
        "print([node.name for node in model.walk()])",
        "<md> ## Shape inference\nDims that were not given print as `?` and are filled by `initialize(X, Y)` from samples.",
        "from sklearn.datasets import load_digits\n"
        "digits = load_digits()\n"
        "X = torch.tensor(digits.data, dtype=torch.float32) / 16\n"
        "y = torch.tensor(digits.target)\n"
        "Y = torch.nn.functional.one_hot(y, 10).float()\n"
        "model.initialize(X=X[:5], Y=Y[:5])\n"
        "print(model.get_dim('nI'), model.get_dim('nO'))\n"
        "print(model.layers[1])",
        "<md> ## The Thinc face\nThinc's training loop runs unchanged: `backprop` takes the loss gradient "
        "(Softmax expects d_logits, as Thinc's losses produce) and `finish_update` takes a torch optimizer.",
        "optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)\n"
        "epochs = 2 if SMALL else 10\n"
        "for epoch in range(epochs):\n"
        "    for idx in torch.randperm(len(X)).split(64):\n"
        "        Yh, backprop = model(X[idx], is_train=True)\n"
        "        backprop((Yh - Y[idx]) / len(idx))\n"
        "        model.finish_update(optimizer)\n"
        "    acc = (model.predict(X).argmax(1) == y).float().mean().item()\n"
        "    print(f'epoch {epoch}: train accuracy {acc:.3f}')\n"
        "assert acc > 0.8",
        "<md> ## The torch face\nThe same object is a plain `nn.Module`: hooks, `torch.compile` and autograd work as usual.",
        "compiled = torch.compile(model, fullgraph=True, backend='aot_eager')\n"
        "model.train()\n"
        "for idx in torch.randperm(len(X)).split(64):\n"
        "    loss = torch.nn.functional.nll_loss(compiled(X[idx]).clamp_min(1e-9).log(), y[idx])\n"
        "    optimizer.zero_grad(); loss.backward(); optimizer.step()\n"
        "print('loss', loss.item())",
        "<md> ## Attributes are live\nChanging `attrs['dropout_rate']` on a node takes effect on the next call.",
        "dropout = next(n for n in model.walk() if n.name == 'dropout')\n"
        "dropout.attrs['dropout_rate'] = 0.5\n"
        "hidden = model.layers[0].layers[0]  # relu>>dropout\n"
        "out, _ = hidden(X[:256], is_train=True)\n"
        "print('fraction dropped', (out == 0).float().mean().item())",
        "<md> ## Save and load\n`to_bytes` writes safetensors plus a JSON header of the node tree; no pickle.",
        "data = model.to_bytes()\n"
        "with Model.define_operators({'>>': chain}):\n"
        "    fresh = Relu(nO=32) >> Dropout(0.1) >> Relu(nO=32) >> Softmax()\n"
        "fresh.from_bytes(data)\n"
        "assert torch.equal(fresh.predict(X), model.predict(X))\n"
        "print(len(data), 'bytes; reloaded bitwise')",
    )


@notebook("04_deployment.ipynb")
def deployment():
    return cells(
        "<md> # 04 · Deployment: torch.compile, torch.export, TorchScript, ONNX\n\nThe torch face is plain tensors "
        "in and out, so the usual deployment paths work. (`Ragged`/`Padded` are NamedTuples and pass through all of them.)",
        SETUP,
        "import warnings\nfrom torchlayers import Model, Relu, Softmax, LayerNorm, chain\n"
        "with Model.define_operators({'>>': chain}):\n"
        "    model = Relu(64, 16, normalize=True) >> Softmax(5, init_W=lambda ops, shape: torch.randn(shape) * 0.1)\n"
        "model.initialize(X=torch.randn(4, 16)).eval()\n"
        "X = torch.randn(32, 16)\n"
        "reference = model(X)",
        "compiled = torch.compile(model, fullgraph=True)\n"
        "torch.testing.assert_close(compiled(X), reference)\n"
        "print('torch.compile(fullgraph=True): ok')",
        "batch = torch.export.Dim('batch', min=2, max=4096)\n"
        "exported = torch.export.export(model, (X,), dynamic_shapes=({0: batch},))\n"
        "X7 = torch.randn(7, 16)\n"
        "torch.testing.assert_close(exported.module()(X7), model(X7))\n"
        "torch.testing.assert_close(exported.module()(X), reference)\n"
        "print(exported.graph_signature.user_inputs, 'dynamic batch: ok')",
        "with warnings.catch_warnings():\n    warnings.simplefilter('ignore')  # TorchScript is deprecated in torch 2.13\n"
        "    scripted = torch.jit.script(model)\n"
        "torch.testing.assert_close(scripted(X), reference)\n"
        "print('TorchScript: ok')",
        "import tempfile, onnxruntime\n"
        "path = os.path.join(tempfile.mkdtemp(), 'model.onnx')\n"
        "with warnings.catch_warnings():\n    warnings.simplefilter('ignore')\n"
        "    torch.onnx.export(model, (X,), path, dynamo=True, dynamic_shapes=({0: batch},))\n"
        "session = onnxruntime.InferenceSession(path, providers=['CPUExecutionProvider'])\n"
        "(out,) = session.run(None, {session.get_inputs()[0].name: X.numpy()})\n"
        "torch.testing.assert_close(torch.from_numpy(out), reference, atol=1e-5, rtol=1e-5)\n"
        "print('ONNX + onnxruntime: ok')",
    )


def main() -> None:
    for name, fn in NOTEBOOKS.items():
        nb = new_notebook(cells=fn(), metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
        nbformat.write(nb, HERE / name)
        print("wrote", name)


if __name__ == "__main__":
    main()
