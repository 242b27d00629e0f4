"""The README's main-job command with no cluster: starts the release locally on CPU, shows each pod's phase while it
waits, prints the OpenAI base URL and a curl line that works, and stops cleanly on Ctrl-C (SIGINT)."""
import os
import re
import signal
import subprocess
import time
import urllib.request

import pytest

from llmcharts import paths

from conftest import STATS

pytestmark = pytest.mark.engine


def test_deploy_runs_locally_and_stops_on_ctrl_c(tmp_path):
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "no-cluster")}
    t0 = time.monotonic()
    proc = subprocess.Popen([str(paths.ROOT / "scripts" / "deploy"), "--tiny-model", "--workdir", str(tmp_path / "run")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    out = []
    try:
        for line in proc.stdout:
            out.append(line)
            if "Ctrl-C stops it" in line or "did not become ready" in line:
                break
        text = "".join(out)
        assert "Ctrl-C stops it" in text, text[-3000:]
        # progress while it waits: each pod, its phase (fetching / loading / probes / ready) and the time waited
        assert re.search(r"deploy: waiting\s+\d+s  .*: loading \(startup probe\)", text), text[-3000:]
        STATS["e2e timing: scripts/deploy to a ready local stack (s)"] = round(time.monotonic() - t0, 1)
        base = re.search(r"OpenAI base URL: (http://127(?:\.\d+){3}:\d+)/v1", text).group(1)
        curl = re.search(r"  (curl .*\n.*-d '.*')", text).group(1).replace("\\\n", " ")
        r = subprocess.run(curl + " --max-time 60 -s", shell=True, capture_output=True, text=True)
        assert '"chat.completion"' in r.stdout, r.stdout + r.stderr
        with urllib.request.urlopen(base + "/health", timeout=5) as h:
            assert h.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, rest[-2000:]
    assert "stopping (graceful)" in rest and "stopped in" in rest
    with pytest.raises(OSError):
        urllib.request.urlopen(base + "/health", timeout=5)
