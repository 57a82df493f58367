import json
import textwrap

import pytest
import torch

from benchmark.cli import main
from benchmark.submission import SubmissionMetadata, load_submission, validate_metadata
from results.leaderboard import build_leaderboard

GOOD = dict(name="myvae", version="0.1", authors=("A. Person",), citation="Person 2026", code_url="https://example.org",
            description="a test", grid={"beta": [1.0, 2.0]})

# A newcomer's submission, written from the README section alone.
SMALL_MODEL = '''
import torch
from torch import nn

from benchmark.submission import SubmissionMetadata
from models import VAEModel
from models.networks import ConvDecoder, ConvEncoder

METADATA = SubmissionMetadata(
    name="tinybeta", version="0.1", authors=("A. Newcomer",), citation="Newcomer 2026",
    code_url="https://example.org/tinybeta", description="beta-VAE written as a submission",
    grid={"beta": [2.0]},
)


class Model(VAEModel):
    def __init__(self, channels, latent_dim, beta=1.0):
        super().__init__()
        self.encoder, self.decoder, self.beta = ConvEncoder(channels, latent_dim), ConvDecoder(channels, latent_dim), beta

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def loss_terms(self, x, eps, step, nll):
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * eps
        recon = nll(self.decode(z), x)
        kl_d = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).mean(0)
        return {"loss": recon + self.beta * kl_d.sum(), "reconstruction": recon, "kl": kl_d.sum(), "kl_per_latent": kl_d}
'''


@pytest.mark.parametrize("change,message", [
    ({"colour": "red"}, "unknown field"), ({"citation": ""}, "missing citation"),
    ({"name": "betavae"}, "clashes with the built-in model"), ({"grid": {"beta": 4}}, "must be a non-empty list"),
    ({"authors": "Ada"}, "list of names"),
    ({"grid": {"width": [8, 8.0]}}, "lists 8.0 twice"), ({"grid": {"beta": [1, "1"]}}, "lists '1' twice"),
])
def test_metadata_validation(change, message):
    with pytest.raises(ValueError, match=message):
        validate_metadata({**GOOD, **change})
    SubmissionMetadata(**GOOD)


def test_load_submission_errors(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\n")
    with pytest.raises(ValueError, match="define METADATA"):
        load_submission(bad)
    with pytest.raises(ValueError, match="not found"):
        load_submission(tmp_path / "missing.py")


def test_newcomer_check_submit_leaderboard_and_report(tmp_path, capsys):
    path = tmp_path / "tinybeta.py"
    path.write_text(textwrap.dedent(SMALL_MODEL))
    from benchmark.submission_check import CHECKS, check_submission

    heard = []  # progress: each check's start, then its result, in order, each once
    results = check_submission(path, on_stage=lambda s: heard.append(("start", s)), on_result=lambda r: heard.append(("end", r[0])))
    assert all(ok for _, ok, _ in results) and [name for name, _, _ in results] == list(CHECKS)
    assert heard == [(kind, name) for name in CHECKS for kind in ("start", "end")]
    store = tmp_path / "store"
    assert main(["submit", str(path), "--study", "smoke", "--store", str(store)]) == 0
    board = (store / "smoke" / "leaderboard.md").read_text()
    assert "tinybeta [submission]" in board and "A. Newcomer" in board
    assert "tinybeta" in (store / "smoke" / "report" / "index.html").read_text()
    # resumable: a second submit trains nothing
    assert main(["submit", str(path), "--study", "smoke", "--store", str(store)]) == 0
    assert "skipped" in capsys.readouterr().out


def test_check_reports_failures_instead_of_crashing(tmp_path, capsys):
    path = tmp_path / "broken.py"
    path.write_text(textwrap.dedent(SMALL_MODEL).replace("return self.encoder(x)", "return self.encoder(x)[0], None"))
    assert main(["check-submission", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("PASS  metadata") and lines[1].startswith("FAIL  forward ") and lines[-1].startswith("1/2 checks passed")


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")  # the legacy format, still accepted
def test_external_torchscript_encoder_enters_external_section(tmp_path, capsys):
    from models.networks import ConvEncoder

    torch.manual_seed(0)
    enc = torch.jit.script(ConvEncoder(1, 6))
    enc_path = tmp_path / "enc.pt"
    enc.save(str(enc_path))
    store = tmp_path / "store"
    args = ["evaluate", "--encoder", str(enc_path), "--dataset", "tiny", "--metrics", "mig,sap", "--preset", "quick",
            "--study", "smoke", "--store", str(store), "--name", "random-conv"]
    assert main(args) == 0
    values = json.loads(capsys.readouterr().out.splitlines()[0])
    assert set(values) == {"mig", "sap"}
    (store / "smoke").mkdir(exist_ok=True)
    text = build_leaderboard(store / "smoke", "smoke").read_text()
    assert "## External representations" in text and "random-conv" in text


def test_external_exported_program_is_the_primary_format(tmp_path, capsys):
    from models.networks import ConvEncoder

    torch.manual_seed(0)
    enc = ConvEncoder(1, 6).eval()
    program = torch.export.export(enc, (torch.rand(2, 1, 64, 64),), dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=4096)},))
    enc_path = tmp_path / "enc.pt2"
    torch.export.save(program, enc_path)
    store = tmp_path / "store"
    args = ["evaluate", "--encoder", str(enc_path), "--dataset", "tiny", "--metrics", "mig", "--preset", "quick",
            "--study", "smoke", "--store", str(store), "--name", "exported"]
    assert main(args) == 0
    assert set(json.loads(capsys.readouterr().out.splitlines()[0])) == {"mig"}
    (tmp_path / "junk.pt2").write_bytes(b"not a program")
    assert main(args[:2] + [str(tmp_path / "junk.pt2")] + args[3:]) == 2
    assert "not a torch.export program" in capsys.readouterr().err


def _nan_encoder(x):
    return torch.full((len(x), 4), float("nan"))


def _wrong_shape(x):
    return torch.zeros(len(x))


def test_external_bad_encoders_store_nothing(tmp_path, capsys):
    store = tmp_path / "store"
    base = ["evaluate", "--dataset", "tiny", "--study", "smoke", "--store", str(store)]
    (tmp_path / "junk.pt").write_bytes(b"not torchscript")
    assert main(base + ["--encoder", str(tmp_path / "junk.pt")]) == 2
    assert "not a TorchScript encoder" in capsys.readouterr().err
    assert main(base + ["--encoder", f"{__name__}:_nan_encoder"]) == 2
    assert "NaN" in capsys.readouterr().err
    assert main(base + ["--encoder", f"{__name__}:_wrong_shape"]) == 2
    assert "(batch, D)" in capsys.readouterr().err
    assert not (store / "smoke" / "external").exists()
