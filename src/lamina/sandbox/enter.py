"""Entering an execution environment's sandbox: the steps a freshly forked child takes as root.

Standard library only and Python 3.9+: the fork server (``forkserver.py``) runs on the function's
own interpreter, and loads this module by path. The one caller is the fork server's child; the
start-up probe (``python enter.py --probe``, run by ``isolation.py``) takes the same steps on an
empty plan, so what is detected is what environments get.

``Template(path)`` is built once by the fork server, in a mount namespace of its own: the fixed part
of every root (the system's programs and libraries, /usr and its links; a few files of /etc that
programs need: certificates, name resolution, time zones, the alternatives the JVM is found
through; a minimal /dev). ``fork_into_namespaces`` creates the child in new PID, mount and IPC
namespaces: its mount namespace starts as a copy of the fork server's, template included.
``enter(plan, template)`` then, in order:

1. joins the environment's network namespace (a descriptor from ``network.py``'s pool: loopback
   with Lamina's listeners inside, and a veth out when the function may reach the network);
2. adds its own mounts to its copy of the template, read-only: the runtime's interpreter
   (``keep``), the runtime's files and SDK in a /var/runtime of its own (``runtime``: names and
   what is bound there), its code at /var/task, its layers at /opt; a private tmpfs of ``tmp_mb`` at /tmp
   (also /var/tmp and /dev/shm); /etc/passwd and /etc/group naming its uid ``sbx_user1051``, as on
   Lambda; pivots into it, and mounts /proc of its own PID namespace. Nothing of the host is seen
   but what was bound in. Not there: /home, /root, /run, /sys, /var/log, /srv, Lamina's data, other
   functions' code, the host's /tmp;
3. drops to its own uid with no supplementary groups and ``no_new_privs``.

``install_seccomp`` then loads its seccomp filter (compiled by libseccomp in Lamina's process,
``seccomp.py``), the fork server's last step before the runtime runs.

Any failure raises: a child that cannot enter its sandbox must not run function code.
"""

import ctypes
import errno
import os
import platform
import sys

TASK_ROOT = "/var/task"
RUNTIME_DIR = "/var/runtime"
SANDBOX_USER = "sbx_user1051"  # the user name functions see on Lambda

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = ctypes.CDLL(None, use_errno=True).syscall
_CLONE_NEWNS = 0x00020000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWNET = 0x40000000
_SIGCHLD = 17
_SYS_CLONE = {"x86_64": 56, "aarch64": 220}.get(platform.machine())
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(platform.machine())
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_MNT_DETACH = 2
_SYS_MOUNT_SETATTR = 442  # the same number on x86_64 and aarch64
_AT_FDCWD, _AT_RECURSIVE = -100, 0x8000
_MOUNT_ATTR_RDONLY, _MOUNT_ATTR_NOSUID, _MOUNT_ATTR_NODEV = 0x1, 0x2, 0x4
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2

# Where the host keeps its programs and libraries: bound read-only (or re-created as the same link).
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What of /etc programs and runtimes read: TLS roots, name resolution, time zones, the dynamic
# linker's cache, the alternatives links the JVM and others are found through, runtime config.
ETC_PATHS = (
    "alternatives", "ca-certificates", "ca-certificates.conf", "ssl", "pki", "ld.so.cache", "ld.so.conf",
    "ld.so.conf.d", "localtime", "timezone", "zoneinfo", "nsswitch.conf", "host.conf", "gai.conf", "resolv.conf",
    "services", "protocols", "mime.types", "os-release", "java-8-openjdk", "java-11-openjdk", "java-17-openjdk",
    "java-21-openjdk", "java-25-openjdk", "mono", "fonts",
)  # fmt: skip
DEVICES = ("null", "zero", "full", "random", "urandom")
# /etc files up to this size are copied into the new root rather than bound.
_COPY_BYTES = 256 * 1024
# The root tmpfs only holds mount points and a few generated or copied files.
_ROOT_SIZE = "size=4m,nr_inodes=4096,mode=755"
# /var/runtime only holds mount points.
_RUNTIME_SIZE = "size=64k,nr_inodes=256,mode=755"


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, "%s: %s" % (what, os.strerror(err)))


def _mount(source, target, fstype, flags, data=None):
    _check(
        _libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        "mount %s" % target,
    )


def fork_into_namespaces():
    """fork(), with the child in new PID, mount and IPC namespaces (a raw clone, as fork does it)."""
    if _SYS_CLONE is None:
        raise OSError("namespaces are not supported on %s" % platform.machine())
    flags = _SIGCHLD | _CLONE_NEWPID | _CLONE_NEWNS | _CLONE_NEWIPC
    ctypes.pythonapi.PyOS_BeforeFork()
    pid = ctypes.PyDLL(None, use_errno=True).syscall(_SYS_CLONE, flags, 0, 0, 0, 0)
    if pid == 0:
        ctypes.pythonapi.PyOS_AfterFork_Child()
        return 0
    ctypes.pythonapi.PyOS_AfterFork_Parent()
    if pid < 0:
        err = ctypes.get_errno()
        raise OSError(err, "clone: %s" % os.strerror(err))
    return pid


def enter(plan, template, netns_fd=-1):
    """In the forked child, in its new namespaces: become the environment ``plan`` describes.

    ``plan``: {"uid": U, "code": dir, "opt": dir|None, "keep": [dir, ...], "tmp_mb": M,
    "runtime": {name: path, ...}, "seccomp": base64 BPF|None}; ``netns_fd``: the network namespace to join, or -1.
    The same as ``prepare`` then ``finish``.
    """
    prepare(plan, template)
    finish(plan, template, netns_fd, named=True)


def prepare(plan, template):
    """The part of ``enter`` that depends only on the plan's ``keep`` and ``tmp_mb`` (its shape), not
    on the environment: a private /tmp, the runtime's directories bound, /etc/passwd and /etc/group
    bound to files of this /tmp (naming ``plan["uid"]`` if the plan has one, else empty until
    ``finish`` writes them). A prepared child of the fork server's pool takes these steps ahead,
    before any environment is assigned to it."""
    root = template.path
    # The private /tmp first: a runtime's directory under the host's /tmp (a checkout of Lamina
    # there) is then bound where its command expects it, read-only, inside this /tmp.
    _mount("tmpfs", root + "/tmp", "tmpfs", _MS_NOSUID | _MS_NODEV, "size=%dm,mode=1777" % plan["tmp_mb"])
    bound = []  # a directory in one bound already (or twice in ``keep``) is seen through that one
    for path in plan.get("keep") or ():
        if os.path.isdir(path) and not _covered(path, SYSTEM_PATHS + ("/opt",) + tuple(bound)):
            _bind(_open(path), root + path, True)
            bound.append(path)
    # /var/runtime, as on Lambda: a tmpfs of its own (nothing written to the template) with the
    # runtime's files and its SDK bound in by name.
    _mount("tmpfs", root + RUNTIME_DIR, "tmpfs", _MS_NOSUID | _MS_NODEV, _RUNTIME_SIZE)
    for name, path in sorted((plan.get("runtime") or {}).items()):
        if "/" not in name and name not in (".", "..") and os.path.exists(path):
            _bind(_open(path), root + RUNTIME_DIR + "/" + name, os.path.isdir(path))
    identity = _identity(plan["uid"]) if "uid" in plan else {"passwd": "", "group": ""}
    for name, text in identity.items():  # nothing is written to the template itself:
        scratch = root + "/tmp/." + name  # a file of its own /tmp, bound over the template's, then unlinked
        fd = os.open(scratch, os.O_CREAT | os.O_WRONLY | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, text.encode())
        finally:
            os.close(fd)
        _bind(_open(scratch), root + "/etc/" + name, False)
        os.unlink(scratch)


def finish(plan, template, netns_fd=-1, named=False):
    """The rest of ``enter``, for this environment: join its network namespace, bind its code and
    layers, name its uid in /etc/passwd and /etc/group (unless ``prepare`` did, ``named``), make
    the root read-only, pivot into it, drop to its uid with ``no_new_privs``."""
    if netns_fd >= 0:
        _check(_libc.setns(netns_fd, _CLONE_NEWNET), "setns")
        os.close(netns_fd)
    build_root(plan, template, named)
    uid = plan["uid"]
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(no_new_privs)")


class Template:
    """The part of every environment's root that is the same for all, built once by the fork server
    in a mount namespace of its own (``unshare``), at ``path``: a tmpfs holding the merged-/usr links,
    /usr bound, /etc (small files copied, directories bound, /etc/hosts written), /dev (five device
    nodes bound, the usual links) and the mount points the rest needs. A child's mount namespace
    starts as a copy of the fork server's, template included: it only adds its own mounts (its /tmp,
    code, layers, runtime, passwd), makes its copy read-only and pivots into it. Mounts belong to a
    namespace, so what a child mounts there no other child sees. Name servers are read once, here."""

    def __init__(self, path):
        self.path = path
        _check(_libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        _mount(None, "/", None, _MS_REC | _MS_PRIVATE)  # nothing of it propagates to the host
        _mount("tmpfs", path, "tmpfs", _MS_NODEV, _ROOT_SIZE)
        for target in SYSTEM_PATHS:
            if os.path.islink(target):
                os.symlink(os.readlink(target), path + target)
            elif os.path.isdir(target):
                _bind(_open(target), path + target, True)
        os.makedirs(path + "/etc")
        for name in ETC_PATHS:
            source = os.path.realpath(_resolv_conf() if name == "resolv.conf" else "/etc/" + name)
            if os.path.isfile(source) and os.path.getsize(source) <= _COPY_BYTES:
                with open(source, "rb") as f, open(path + "/etc/" + name, "wb") as copy:
                    copy.write(f.read())
            elif os.path.exists(source):
                _bind(_open(source), path + "/etc/" + name, os.path.isdir(source))
        for name, text in (("hosts", "127.0.0.1 localhost sandbox.localdomain\n::1 localhost\n"), ("passwd", ""), ("group", "")):
            with open(path + "/etc/" + name, "w") as f:
                f.write(text)
        os.makedirs(path + "/dev")
        for name in DEVICES:
            if os.path.exists("/dev/" + name):
                _bind(_open("/dev/" + name), path + "/dev/" + name, False)
        for name, value in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                            ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):  # fmt: skip
            os.symlink(value, path + "/dev/" + name)
        _bash_as_sh(path)
        for directory in ("/dev/shm", "/proc", "/tmp", "/var/tmp", TASK_ROOT, RUNTIME_DIR, "/opt"):
            os.makedirs(path + directory, exist_ok=True)


def build_root(plan, template, named=False):
    """Add this environment's own mounts to (its copy of) ``template``, already ``prepare``d, and pivot into it."""
    root = template.path
    _bind(_open(plan["code"]), root + TASK_ROOT, True)
    if plan.get("opt"):
        _bind(_open(plan["opt"]), root + "/opt", True)
    if not named:
        for name, text in _identity(plan["uid"]).items():
            with open(root + "/etc/" + name, "w") as f:  # the file of its /tmp that ``prepare`` bound there
                f.write(text)
    _check(_mount_setattr(root, _AT_RECURSIVE, attr_set=_MOUNT_ATTR_RDONLY | _MOUNT_ATTR_NOSUID), "mount_setattr")
    _check(_mount_setattr(root + "/tmp", 0, attr_clr=_MOUNT_ATTR_RDONLY), "mount_setattr /tmp")
    for shared in ("/var/tmp", "/dev/shm"):  # world-writable places: this environment's own /tmp
        _mount(root + "/tmp", root + shared, None, _MS_BIND)
    os.chdir(root)
    _check(_syscall(_SYS_PIVOT_ROOT, b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", _MNT_DETACH), "umount the host's root")
    os.chdir("/")
    _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)


def _bash_as_sh(root):
    """Make the root's /bin/sh bash, as on Amazon Linux (where /bin/sh is a link to bash): a
    ``#!/bin/sh`` bootstrap runs under bash, in its POSIX mode, as it would on Lambda. A host whose
    /bin/sh is another shell (dash, on Debian and Ubuntu) has bash bound over that shell, in the
    template's own mount namespace only; a host without bash keeps its /bin/sh."""
    shell = os.path.realpath("/bin/sh")
    bash = os.path.realpath("/bin/bash")
    if shell == bash or not os.path.isfile(bash) or not os.path.isfile(shell):
        return
    _bind(_open(bash), root + shell, False)


def _resolv_conf():
    """The host's name servers as an environment can reach them: a resolver on the host's loopback
    (systemd-resolved's 127.0.0.53) is not in its namespace, the upstream servers behind it are."""
    try:
        with open("/etc/resolv.conf") as f:
            servers = [line.split()[1] for line in f if line.startswith("nameserver") and len(line.split()) > 1]
    except OSError:
        return "/etc/resolv.conf"
    upstream = "/run/systemd/resolve/resolv.conf"
    if servers and all(s.startswith("127.") or s == "::1" for s in servers) and os.path.exists(upstream):
        return upstream
    return "/etc/resolv.conf"


def _open(path):
    return os.open(path, os.O_PATH | os.O_CLOEXEC)


def _covered(path, prefixes):
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def _bind(fd, target, is_dir):
    """Bind what ``fd`` holds at ``target`` (created in the new root, unless the template has it)."""
    source = "/proc/self/fd/%d" % fd
    try:
        if _libc.mount(source.encode(), target.encode(), None, ctypes.c_ulong(_MS_BIND | _MS_REC), None) != 0:
            if ctypes.get_errno() != errno.ENOENT:
                _check(-1, "mount %s" % target)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if is_dir:
                os.makedirs(target, exist_ok=True)
            elif not os.path.exists(target):
                os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
            _mount(source, target, None, _MS_BIND | _MS_REC)
    finally:
        os.close(fd)


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64), ("propagation", ctypes.c_uint64),
                ("userns_fd", ctypes.c_uint64)]


def _mount_setattr(path, flags, attr_set=0, attr_clr=0):
    attr = _MountAttr(attr_set, attr_clr, 0, 0)
    return _syscall(_SYS_MOUNT_SETATTR, _AT_FDCWD, path.encode(), flags, ctypes.byref(attr), ctypes.sizeof(attr))


def _identity(uid):
    """/etc/passwd and /etc/group naming the environment's uid ``sbx_user1051``, as on Lambda."""
    return {
        "passwd": "root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d::/tmp:/sbin/nologin\n" % (SANDBOX_USER, uid, uid),
        "group": "root:x:0:\n%s:x:%d:\n" % (SANDBOX_USER, uid),
    }


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_seccomp(program):
    """Load a compiled seccomp BPF program (8-byte instructions) for this process and its children."""
    if len(program) % 8 or not program:
        raise OSError("malformed seccomp program (%d bytes)" % len(program))
    buf = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    _check(_libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0), "seccomp")


def _probe():
    """Exit 0 if this host lets a child take every step of ``enter`` (run as a script, as root)."""
    import tempfile

    code, root = tempfile.mkdtemp(prefix="lamina-probe-"), tempfile.mkdtemp(prefix="lamina-probe-root-")
    try:
        pid = os.fork()
        if pid == 0:  # a fork server's stand-in, with its template in a mount namespace of its own
            status = 2
            try:
                template = Template(root)
                child = fork_into_namespaces()
                if child == 0:
                    result = 2
                    try:
                        _check(_libc.unshare(_CLONE_NEWNET), "unshare(CLONE_NEWNET)")
                        enter({"uid": 65534, "code": code, "opt": None, "keep": [], "tmp_mb": 1}, template)
                        result = 0 if os.getpid() == 1 and os.path.isdir(TASK_ROOT) and not os.path.exists("/root") else 3
                    finally:
                        os._exit(result)
                status = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
            finally:
                os._exit(status)
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    finally:
        os.rmdir(code)
        os.rmdir(root)


if __name__ == "__main__" and sys.argv[1:] == ["--probe"]:
    sys.exit(_probe())
