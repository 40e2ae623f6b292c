"""Entering an execution environment's sandbox: the steps a freshly forked child takes as root.

Standard library only and Python 3.9+: the fork server (``forkserver.py``) runs on the function's
own interpreter, and loads this module by path. The one caller is the fork server's child; the
start-up probe (``python enter.py --probe``, run by ``isolation.py``) takes the same steps on an
empty plan, so what is detected is what environments get.

``fork_into_namespaces`` creates the child in new PID, mount and IPC namespaces. ``enter(plan)``
then, in order:

1. joins the environment's network namespace (a descriptor from ``network.py``'s pool: loopback
   with Lamina's listeners inside, and a veth out when the function may reach the network);
2. builds its root filesystem on an empty tmpfs and pivots into it, so nothing of the host is seen
   but what is bound in, read-only: the system's programs and libraries (/usr and its links), a
   few files of /etc that programs need (certificates, name resolution, time zones, the
   alternatives the JVM is found through), the runtime's own directories (``keep``), its code at
   /var/task, its layers at /opt; a private tmpfs of ``tmp_mb`` at /tmp (also /var/tmp and
   /dev/shm), a minimal /dev, /proc of its own PID namespace; /etc/passwd and /etc/group name
   its uid ``sbx_user1051``, as on Lambda. Not there: /home, /root, /run, /sys, /var/log, /srv,
   Lamina's data, other functions' code, the host's /tmp;
3. drops to its own uid with no supplementary groups and ``no_new_privs``.

``install_seccomp`` then loads its seccomp filter (compiled by libseccomp in Lamina's process,
``seccomp.py``), the fork server's last step before the runtime runs.

Any failure raises: a child that cannot enter its sandbox must not run function code.
"""

import ctypes
import errno
import os
import platform
import stat
import sys

TASK_ROOT = "/var/task"
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


def enter(plan, netns_fd=-1, host=None):
    """In the forked child, in its new namespaces: become the environment ``plan`` describes.

    ``plan``: {"uid": U, "code": dir, "opt": dir|None, "keep": [dir, ...], "tmp_mb": M,
    "seccomp": base64 BPF|None}; ``netns_fd``: the network namespace to join, or -1.
    """
    if netns_fd >= 0:
        _check(_libc.setns(netns_fd, _CLONE_NEWNET), "setns")
        os.close(netns_fd)
    build_root(plan, host)
    uid = plan["uid"]
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(no_new_privs)")


class Host:
    """What of the host every environment's root is made of, found once (by the fork server, before
    it forks anyone) rather than at every cold start: the system's directories and links, and /etc's
    files (small ones read, to be copied; the rest bound). /etc/resolv.conf is read at each start."""

    def __init__(self):
        self.dirs = []  # host directories bound read-only where they are
        self.links = []  # (target, link value): merged-/usr links such as /bin -> usr/bin
        self.etc_dirs = []  # (target, host path)
        self.etc_files = {}  # target -> content
        for path in SYSTEM_PATHS:
            if os.path.islink(path):
                self.links.append((path, os.readlink(path)))
            elif os.path.isdir(path):
                self.dirs.append(path)
        for name in ETC_PATHS:
            if name == "resolv.conf":
                continue
            path = os.path.realpath("/etc/" + name)
            if os.path.isfile(path) and os.path.getsize(path) <= _COPY_BYTES:
                with open(path, "rb") as f:
                    self.etc_files["/etc/" + name] = f.read()
            elif os.path.exists(path):
                self.etc_dirs.append(("/etc/" + name, path))

    def copies(self):
        """The /etc files to write into the new root, name servers as they are now."""
        files = dict(self.etc_files)
        try:
            with open(_resolv_conf(), "rb") as f:
                files["/etc/resolv.conf"] = f.read(_COPY_BYTES)
        except OSError:
            pass
        return files


def build_root(plan, host=None):
    """Make a root filesystem of what the environment may see, and pivot into it."""
    host = host or Host()
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)  # nothing below propagates to the host
    links = host.links
    copies = host.copies()
    # (target, O_PATH descriptor of the source, is a directory)
    binds = [_source(path, path) for path in host.dirs] + [_source(t, p) for t, p in host.etc_dirs]
    for path in plan.get("keep") or ():
        if os.path.isdir(path) and not _covered(path, SYSTEM_PATHS) and not _covered(path, ("/opt",)):
            binds.append(_source(path, path))
    binds.append(_source(TASK_ROOT, plan["code"]))
    if plan.get("opt"):
        binds.append(_source("/opt", plan["opt"]))
    devices = [_source("/dev/" + name, "/dev/" + name) for name in DEVICES if os.path.exists("/dev/" + name)]

    # The new root is a tmpfs mounted over /tmp in this mount namespace (the sources above are held
    # by descriptor, so what the host has under /tmp is still reachable for binding).
    new_root = "/tmp"
    _mount("tmpfs", new_root, "tmpfs", _MS_NOSUID | _MS_NODEV, _ROOT_SIZE)
    # The private /tmp before the binds: a runtime's directory under the host's /tmp (a checkout of
    # Lamina there) is still bound where its command expects it, read-only, inside this /tmp.
    tmp = new_root + "/tmp"
    os.mkdir(tmp)
    _mount("tmpfs", tmp, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=%dm,mode=1777" % plan["tmp_mb"])
    for target, value in links:
        os.symlink(value, new_root + target)
    bound = [new_root + target for target, _, _ in binds]
    for target, fd, is_dir in sorted(binds, key=lambda b: b[0].count("/")):  # parents before children
        _bind(fd, new_root + target, is_dir)
    for target, text in copies.items():
        with open(new_root + target, "wb") as f:
            f.write(text)
    os.makedirs(new_root + "/dev", exist_ok=True)
    for name, value in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                        ("stderr", "/proc/self/fd/2")):  # fmt: skip
        os.symlink(value, new_root + "/dev/" + name)
    shared = [new_root + "/var/tmp", new_root + "/dev/shm"]  # world-writable places: its own /tmp
    for path in shared:
        os.makedirs(path, exist_ok=True)
    for target, _, _ in devices:  # their mount points, while the root is writable
        os.close(os.open(new_root + target, os.O_CREAT | os.O_WRONLY, 0o644))
    _write_identity(new_root, plan["uid"])
    os.mkdir(new_root + "/proc")
    _read_only(new_root, bound)
    for path in shared:
        _mount(tmp, path, None, _MS_BIND)
    for target, fd, _ in devices:  # after: device nodes need a mount without nodev
        _bind(fd, new_root + target, False)

    os.chdir(new_root)
    _check(_syscall(_SYS_PIVOT_ROOT, b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", _MNT_DETACH), "umount the host's root")
    os.chdir("/")
    _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)


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


def _source(target, path):
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    return (target, fd, stat.S_ISDIR(os.fstat(fd).st_mode))


def _covered(path, prefixes):
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def _bind(fd, target, is_dir):
    """Bind what ``fd`` holds at ``target`` (created in the new root)."""
    parent = os.path.dirname(target)
    os.makedirs(parent, exist_ok=True)
    if is_dir:
        os.makedirs(target, exist_ok=True)
    elif not os.path.exists(target):
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
    _mount("/proc/self/fd/%d" % fd, target, None, _MS_BIND | _MS_REC)
    os.close(fd)


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64), ("propagation", ctypes.c_uint64),
                ("userns_fd", ctypes.c_uint64)]


def _mount_setattr(path, flags, attr_set=0, attr_clr=0):
    attr = _MountAttr(attr_set, attr_clr, 0, 0)
    return _syscall(_SYS_MOUNT_SETATTR, _AT_FDCWD, path.encode(), flags, ctypes.byref(attr), ctypes.sizeof(attr))


def _read_only(root, bound):
    """Make ``root`` and every mount below it read-only, nosuid and nodev, but for its /tmp: in one
    call where the kernel has mount_setattr (Linux 5.12), else one remount per mount."""
    attrs = _MOUNT_ATTR_RDONLY | _MOUNT_ATTR_NOSUID | _MOUNT_ATTR_NODEV
    if _mount_setattr(root, _AT_RECURSIVE, attr_set=attrs) == 0:
        _check(_mount_setattr(root + "/tmp", 0, attr_clr=_MOUNT_ATTR_RDONLY), "mount_setattr /tmp")
        return
    if ctypes.get_errno() != errno.ENOSYS:
        _check(-1, "mount_setattr")
    for target in bound:
        _mount(None, target, None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
    _mount(None, root, None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV, _ROOT_SIZE)


def _write_identity(root, uid):
    """/etc/passwd, /etc/group and /etc/hosts of the environment's own."""
    os.makedirs(root + "/etc", exist_ok=True)
    files = {
        "passwd": "root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d::/tmp:/sbin/nologin\n" % (SANDBOX_USER, uid, uid),
        "group": "root:x:0:\n%s:x:%d:\n" % (SANDBOX_USER, uid),
        "hosts": "127.0.0.1 localhost\n::1 localhost\n",
    }
    for name, text in files.items():
        with open(root + "/etc/" + name, "w") as f:
            f.write(text)


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

    code = tempfile.mkdtemp(prefix="lamina-probe-")
    try:
        pid = fork_into_namespaces()
        if pid == 0:
            status = 2
            try:
                _check(_libc.unshare(_CLONE_NEWNET), "unshare(CLONE_NEWNET)")
                enter({"uid": 65534, "code": code, "opt": None, "keep": [], "tmp_mb": 1})
                status = 0 if os.getpid() == 1 and os.path.isdir(TASK_ROOT) and not os.path.exists("/root") else 3
            finally:
                os._exit(status)
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    finally:
        os.rmdir(code)


if __name__ == "__main__" and sys.argv[1:] == ["--probe"]:
    sys.exit(_probe())
