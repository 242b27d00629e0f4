"""A container's read-only root filesystem, enforced for a local process by a private mount namespace.

A container with securityContext.readOnlyRootFilesystem runs, on this machine, inside its own user and mount
namespace (unprivileged: unshare(CLONE_NEWUSER | CLONE_NEWNS), the caller's uid and gid mapped to the container's) in which
every mount of the machine is remounted read-only except /proc, /sys and /dev (a container has its own, writable as
in a cluster: /dev/shm among them) and the host folders of the container's writable volumes, each bound over itself
read-write. So a write anywhere else fails with EROFS, as it does in the cluster; the process then runs unprivileged
(its capabilities in the namespace end at exec, as its uid is not root there).

What this does not reproduce: the image's own filesystem (the process sees this machine's files, read-only) and the
volumes' mount paths (the runner hands the process their host folders in its args and env, and TMPDIR for a volume at
/tmp). A process that writes a hard-coded path under a mount path the runner did not map fails here and not in the
cluster: the runner errs on the strict side, never the lenient one.

Inside, the process runs as the container's runAsUser/runAsGroup (this machine's user stands for it outside), so an
image user without a passwd entry (a UID >= 10000) is what the engine meets here too.

Run as a script: rootfs.py [--rw DIR ...] [--uid N] [--gid N] -- ARGV...
"""
from __future__ import annotations

import ctypes
import functools
import os
import subprocess
import sys

CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC, MS_PRIVATE, MS_RELATIME = 1024, 2048, 4096, 16384, 1 << 18, 1 << 21
# statvfs f_flag bits -> the mount flags a remount in a user namespace must keep (the kernel locks them).
_KEEP = {1: MS_RDONLY, 2: MS_NOSUID, 4: MS_NODEV, 8: MS_NOEXEC, 1024: MS_NOATIME, 2048: MS_NODIRATIME,
         4096: MS_RELATIME}
# The container's own pseudo filesystems stay as they are.
_OWN = ("/proc", "/sys", "/dev")


def _mount(libc, source, target, flags) -> None:
    if libc.mount(source, target.encode() if target else None, None, flags, None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def _mount_points() -> list[str]:
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            p = line.split()[4].replace("\\040", " ")
            if p not in points:
                points.append(p)
    return points


def _flags(path: str) -> int:
    st = os.statvfs(path).f_flag
    return sum(ms for bit, ms in _KEEP.items() if st & bit)


def enter(writable: list[str], uid: int | None = None, gid: int | None = None) -> None:
    """Make this process's view of the filesystem read-only except `writable` (host folders) and /proc, /sys, /dev;
    inside, it is uid/gid (the container's runAsUser/runAsGroup; default: its own ids), which this machine's user
    stands for outside."""
    libc = ctypes.CDLL(None, use_errno=True)
    outer_uid, outer_gid = os.getuid(), os.getgid()
    uid = outer_uid if uid is None else uid
    gid = outer_gid if gid is None else gid
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare(CLONE_NEWUSER|CLONE_NEWNS): {os.strerror(err)}")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {outer_uid} 1"), ("gid_map", f"{gid} {outer_gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)
    _mount(libc, None, "/", MS_REC | MS_PRIVATE)
    rw = [os.path.realpath(d) for d in writable]
    for d in rw:
        _mount(libc, d.encode(), d, MS_BIND | MS_REC)
    for p in _mount_points():
        if p in rw or any(p == o or p.startswith(o + "/") for o in _OWN) or any(p.startswith(d + "/") for d in rw):
            continue
        try:
            _mount(libc, None, p, MS_REMOUNT | MS_BIND | MS_RDONLY | _flags(p))
        except OSError as e:
            if p == "/":
                raise
            print(f"llmcharts rootfs: {e} (left as it is)", file=sys.stderr)


def root_mount_options(pid: int) -> set[str]:
    """The mount options of "/" as process pid sees it (its /proc/<pid>/mountinfo): {"ro", ...} under a read-only
    root."""
    with open(f"/proc/{pid}/mountinfo") as f:
        rows = [line.split() for line in f]
    return set(next(r[5] for r in reversed(rows) if r[4] == "/").split(","))


@functools.lru_cache(maxsize=1)
def unavailable() -> str:
    """Why a read-only root cannot be enforced on this machine ("" when it can): tried once, for real."""
    if sys.platform != "linux":
        return f"read-only roots are enforced with Linux mount namespaces; this is {sys.platform}"
    import tempfile
    with tempfile.TemporaryDirectory(prefix="llmcharts-rootfs-") as tmp:
        rw, ro = os.path.join(tmp, "rw"), os.path.join(tmp, "ro")
        os.mkdir(rw)
        os.mkdir(ro)
        probe = wrap(["/bin/sh", "-c", f"touch {rw}/x && ! touch {ro}/x 2>/dev/null"], [rw])
        try:
            r = subprocess.run(probe, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"the mount-namespace probe did not run: {e}"
    if r.returncode != 0:
        return ("unprivileged user and mount namespaces are not available here (e.g. sysctl "
                "kernel.unprivileged_userns_clone=0 or kernel.apparmor_restrict_unprivileged_userns=1): "
                + (r.stderr.strip().splitlines() or ["a write outside the writable folders succeeded"])[-1])
    return ""


def wrap(argv: list[str], writable: list[str], uid: int | None = None, gid: int | None = None) -> list[str]:
    """argv run with a read-only root and these writable host folders, as uid/gid inside (None: this user's)."""
    out = [sys.executable, "-I", "-S", __file__]
    for d in writable:
        out += ["--rw", str(d)]
    if uid is not None:
        out += ["--uid", str(int(uid))]
    if gid is not None:
        out += ["--gid", str(int(gid))]
    return out + ["--", *argv]



# -- what the local runner asks of this module for one container of a pod (local/pod.py)

def read_only(container: dict) -> bool:
    return bool((container.get("securityContext") or {}).get("readOnlyRootFilesystem"))


def argv_for(pod, container: dict, argv: list[str]) -> list[str]:
    """The container's argv, wrapped to run with a read-only root as its runAsUser/runAsGroup when its
    securityContext asks for one and the runner enforces it."""
    if not (read_only(container) and pod.runner.enforce_read_only):
        return argv
    ids = [(container.get("securityContext") or {}).get(k, (pod.spec.get("securityContext") or {}).get(k))
           for k in ("runAsUser", "runAsGroup")]
    return wrap(argv, writable_dirs(pod, container), *ids)


def writable_dirs(pod, container: dict) -> list:
    """Host folders of the container's writable mounts: emptyDir, PVC and hostPath volumes not mounted readOnly
    (ConfigMap, Secret, projected and downwardAPI volumes are read-only in a cluster too)."""
    kinds = {v["name"]: v for v in pod.spec.get("volumes") or []}
    out = []
    for m in container.get("volumeMounts") or []:
        vol = kinds.get(m["name"], {})
        if m.get("readOnly") or not any(k in vol for k in ("emptyDir", "persistentVolumeClaim", "hostPath")) \
                or (vol.get("persistentVolumeClaim") or {}).get("readOnly"):
            continue
        d = pod.volumes[m["name"]] / m.get("subPath", "")
        d.mkdir(parents=True, exist_ok=True)
        out.append(d)
    return out


def tmpdir_env(pod, container: dict) -> dict:
    """TMPDIR for a container with a volume at /tmp: where its temporary files go, under a short name (a link in
    this machine's temporary folder): Unix sockets made there (vLLM's ZeroMQ IPC) must fit in 107 bytes, as
    /tmp/<uuid> does in the cluster, which a test's deep work folder does not."""
    import pathlib
    import tempfile
    host = next((h for mount, h in pod.mounts(container) if mount == "/tmp"), None)
    if host is None:
        return {}
    link = pathlib.Path(tempfile.gettempdir()) / f"llmcharts-{pod.ip}-{host.name}"
    if not link.is_symlink() or link.resolve() != host.resolve():
        link.unlink(missing_ok=True)
        link.symlink_to(host)
    pod._links.add(link)
    return {"TMPDIR": str(link)}


def unlink(pod) -> None:
    """Remove the pod's short links (tmpdir_env) once it is gone."""
    for link in pod._links:
        link.unlink(missing_ok=True)

def main(args: list[str]) -> None:
    writable, ids = [], {}
    while args and args[0] in ("--rw", "--uid", "--gid"):
        if args[0] == "--rw":
            writable.append(args[1])
        else:
            ids[args[0][2:]] = int(args[1])
        args = args[2:]
    if not args or args[0] != "--":
        raise SystemExit("usage: rootfs.py [--rw DIR ...] [--uid N] [--gid N] -- ARGV...")
    argv = args[1:]
    try:
        enter(writable, ids.get("uid"), ids.get("gid"))
    except OSError as e:
        print(f"llmcharts rootfs: cannot enforce a read-only root filesystem: {e}", file=sys.stderr)
        raise SystemExit(125)
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
