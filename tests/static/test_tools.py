"""The pinned toolchain: helm 3.17.2, helm 4.3.1 and kubectl 1.37.1, verified by sha256 at install."""
import subprocess
import sys

from llmcharts import paths

sys.path.insert(0, str(paths.ROOT / "scripts"))
import install_tools  # noqa: E402


def test_pinned_versions_installed():
    for tool in install_tools.TOOLS:
        binary = paths.TOOLS_BIN / tool.name
        out = subprocess.run([str(binary), *tool.version_cmd], capture_output=True, text=True)
        assert tool.version in out.stdout, (tool.name, out.stdout, out.stderr)
    assert install_tools.TOOLS[0].version.startswith("v3.") and install_tools.TOOLS[1].version.startswith("v4.")


def test_install_is_idempotent_and_verifies(tmp_path, capsys):
    # a second install into the same folder is a no-op
    install_tools.install(str(paths.ROOT / ".tools"))
    assert capsys.readouterr().out == ""


def test_tampered_binary_is_replaced(tmp_path):
    tools = tmp_path / "tools"
    (tools / "bin").mkdir(parents=True)
    (tools / "cache").symlink_to(paths.ROOT / ".tools" / "cache")
    for t in install_tools.TOOLS:
        (tools / "bin" / t.name).write_bytes(b"#!/bin/sh\necho tampered\n")
    install_tools.install(str(tools))
    for t in install_tools.TOOLS:
        data = (tools / "bin" / t.name).read_bytes()
        assert install_tools.sha256_of(data) == t.sha256
