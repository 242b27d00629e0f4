"""The local runner's read-only root (src/llmcharts/local/rootfs.py) and pod loopback (net.py) hold for real.

A process started as a container with readOnlyRootFilesystem can write only to its writable volumes (EROFS anywhere
else) and runs as the pod's runAsUser; a server bound to the pod's loopback gets an address that is not the pod's."""
import os
import subprocess

import pytest

from llmcharts.local import net, rootfs

pytestmark = pytest.mark.skipif(bool(rootfs.unavailable()), reason=f"read-only roots cannot be enforced here: "
                                                                    f"{rootfs.unavailable()}")


def run(tmp_path, script, uid=None):
    rw, ro = tmp_path / "rw", tmp_path / "ro"
    rw.mkdir(exist_ok=True)
    ro.mkdir(exist_ok=True)
    return subprocess.run(rootfs.wrap(["/bin/sh", "-c", script.format(rw=rw, ro=ro)], [rw], uid, uid),
                          capture_output=True, text=True, timeout=30)


def test_only_the_writable_volumes_take_writes(tmp_path):
    r = run(tmp_path, "touch {rw}/ok && echo rw-ok; touch {ro}/no; echo x > /dev/shm/llmcharts-$$ && rm /dev/shm/llmcharts-$$ && echo shm-ok")
    assert "rw-ok" in r.stdout and "shm-ok" in r.stdout, r
    assert "Read-only file system" in r.stderr and not (tmp_path / "ro" / "no").exists()
    assert (tmp_path / "rw" / "ok").exists()


def test_the_process_runs_as_the_pods_user_without_privileges(tmp_path):
    r = run(tmp_path, "id -u; grep CapEff /proc/self/status; mount -o remount,rw / 2>&1 || echo remount-refused", uid=10001)
    lines = r.stdout.split("\n")
    assert lines[0] == "10001" and lines[1].split()[1] == "0000000000000000", r
    assert "remount-refused" in r.stdout


def test_root_mount_options_report_the_read_only_root(tmp_path):
    p = subprocess.Popen(rootfs.wrap(["/bin/sleep", "5"], [tmp_path]))
    try:
        import time
        deadline = time.monotonic() + 5
        while "ro" not in rootfs.root_mount_options(p.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "ro" in rootfs.root_mount_options(p.pid)
        assert "ro" not in rootfs.root_mount_options(os.getpid())
    finally:
        p.kill()
        p.wait()


def test_the_pods_loopback_is_not_its_address():
    assert net.map_pod_address("--host=127.0.0.1", "127.9.9.2", lo="127.9.9.3") == "--host=127.9.9.3"
    assert net.map_pod_address("--host=0.0.0.0", "127.9.9.2", lo="127.9.9.3") == "--host=127.9.9.2"
    cfg = "bind 0.0.0.0:8000\nserver engine 127.0.0.1:8001\n"
    assert net.map_pod_address(cfg, "127.9.9.2", bare=False, lo="127.9.9.3") == \
        "bind 127.9.9.2:8000\nserver engine 127.9.9.3:8001\n"
