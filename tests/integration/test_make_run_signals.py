"""`make run` stops everything it started when it is interrupted.

Each try types the command a user types (make run PORT=<free> RUN=<private
run dir>) in a session of its own, as a terminal would, waits until the demo
answers, records every process of that run and sends a signal to the whole
foreground process group, as a terminal does on Ctrl-C (SIGINT), on closing
(SIGHUP), or as `kill` does to one process (SIGTERM). Within a few seconds
lighttpd and every program of that run must be gone.

A process belongs to the run when it is in the session the try started, in
a session a process of the run started (recorded before the signal), or holds
a socket bound under the run dir. Nothing else is counted or stopped; what a
failed try leaves behind is stopped by pid at the end of that try.
"""
import fcntl
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import termios
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

R = h.Results("make-run-signals")
TRIES = int(os.environ.get("JWTX_MAKE_RUN_TRIES", "10"))
GONE_WITHIN = 10.0  # seconds (lighttpd takes well under one; the load of parallel suites)
SWEEP_WITHIN = 30.0  # run-demo.sh waits 1 s, SIGTERMs, then SIGKILLs after 2 s more


def processes():
    """pid -> (ppid, sid, start time, name) of every live process."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        text = h.tail("/proc/%s/stat" % d, 100000)
        if ") " not in text:
            continue
        name = text[text.find("(") + 1:text.rfind(")")]
        f = text[text.rfind(")") + 2:].split()
        if f[0] in ("Z", "X"):
            continue  # a zombie has exited; an orphan zombie waits for init
        out[int(d)] = (int(f[1]), int(f[3]), int(f[19]), name)
    return out


def socket_holders(run):
    """pids holding a unix socket bound under run."""
    inodes = set()
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            parts = line.split()
            if len(parts) >= 8 and parts[7].startswith(run + "/"):
                inodes.add("socket:[%s]" % parts[6])
    pids = set()
    if not inodes:
        return pids
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            for fd in os.listdir("/proc/%s/fd" % d):
                if os.readlink("/proc/%s/fd/%s" % (d, fd)) in inodes:
                    pids.add(int(d))
                    break
        except OSError:
            continue
    return pids


def members(sessions, run):
    """pid -> name of every live process of the run."""
    table = processes()
    pids = {p for p, v in table.items() if v[1] in sessions} | socket_holders(run)
    return {p: table[p][3] for p in pids if p in table}


def descendants(root, table):
    pids = {root}
    grew = True
    while grew:
        grew = False
        for p, v in table.items():
            if v[0] in pids and p not in pids:
                pids.add(p)
                grew = True
    return pids


def serves(port):
    try:
        return h.request(port, "GET", "/login.html").status == 200
    except OSError:
        return False


def as_from_a_terminal():
    """In the child: the signal dispositions a shell on a terminal gives a
    command. A suite started in the background (`make test &`, some CI
    runners) inherits SIGINT and SIGQUIT ignored, and a shell cannot trap a
    signal that was ignored when it started: reset them, as a terminal's shell
    does for its foreground job."""
    for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(s, signal.SIG_DFL)


def make_run(run, port, log, tty=None):
    """make run as a user types it, in a session (and process group) of its own;
    with tty (a pseudo-terminal's other end), on that terminal, in its foreground."""
    cmd = ["make", "--no-print-directory", "run", "PORT=%d" % port, "RUN=%s" % run]
    if tty is None:
        return subprocess.Popen(cmd, cwd=h.ROOT, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=as_from_a_terminal)

    def on_the_terminal():
        as_from_a_terminal()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    return subprocess.Popen(cmd, cwd=h.ROOT, stdin=tty, stdout=tty, stderr=tty,
                            start_new_session=True, preexec_fn=on_the_terminal)


def drain(fd, out):
    """Appends what the terminal's master end has to out (without waiting)."""
    while select.select([fd], [], [], 0)[0]:
        try:
            data = os.read(fd, 4096)
        except OSError:
            return
        if not data:
            return
        out.append(data)


def stop_leftovers(left, rescan=None):
    """SIGKILLs what a failed try left behind (pid -> name): the servers and
    scripts first, so that nothing respawns a program killed meanwhile, then
    the programs; with rescan (returns the run's live processes) again until
    nothing of the run is left (bounded), so a failing try leaves nothing."""
    for _ in range(10):
        for p in sorted(left, key=lambda q: left[q].endswith(".fcgi")):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        if rescan is None:
            return
        time.sleep(0.2)
        left = rescan()
        if not left:
            return


def one_try(label, sig, how="group"):
    """Starts make run and sends sig to its process group (how="group"), to
    make alone ("make") or types Ctrl-C on its terminal ("terminal"); the
    names of the processes of the run still there GONE_WITHIN seconds later
    (None: it did not start)."""
    terminal = how == "terminal"
    run = h.tmpdir("make-run-")
    port = h.free_port()
    log_path = os.path.join(run, "make-run.log")
    master = None
    screen = []
    if terminal:
        master, slave = pty.openpty()
        p = make_run(run, port, None, slave)
        os.close(slave)
    else:
        with open(log_path, "w") as log:
            p = make_run(run, port, log)
    end = time.time() + 20
    while time.time() < end and p.poll() is None and not serves(port):
        time.sleep(0.1)
    if not serves(port):
        R.check(False, "%s: make run serves the demo" % label, h.tail(log_path))
        h.stop(p, signal.SIGTERM)
        stop_leftovers(members({p.pid}, run), lambda: members({p.pid}, run))
        return None
    # The login route works too (a program answers, not only static files).
    R.eq(h.login(port).status, 200, "%s: make run serves a login" % label)
    table = processes()
    tree = descendants(p.pid, table)
    sessions = {p.pid} | {table[q][1] for q in tree if q in table}
    before = members(sessions, run)
    programs = [n for n in before.values() if n.endswith(".fcgi")]
    R.check(len(programs) >= 9 and "lighttpd" in before.values(),
            "%s: lighttpd and its programs run (%d programs)" % (label, len(programs)),
            repr(sorted(before.values())))
    if terminal:
        drain(master, screen)
        os.write(master, b"\x03")
    elif how == "make":
        p.send_signal(sig)
    else:
        os.killpg(p.pid, sig)
    end = time.time() + GONE_WITHIN
    while time.time() < end:
        if terminal:
            drain(master, screen)
        left = members(sessions, run)
        if not left and p.poll() is not None:
            break
        time.sleep(0.1)
    left = members(sessions, run)
    served = serves(port)
    try:
        rc = p.wait(5)
    except subprocess.TimeoutExpired:
        rc = None
    stop_leftovers(left, lambda: members(sessions, run))
    if p.poll() is None:
        p.kill()
        p.wait()
    R.check(rc is not None and rc != 0,
            "%s: make run ends, reporting the interruption (status %r)" % (label, rc))
    R.check(not served, "%s: nothing serves the port afterwards" % label)
    if terminal:
        drain(master, screen)
        os.close(master)
        with open(log_path, "wb") as f:
            f.write(b"".join(screen))
    R.check("jwtx demo on http://127.0.0.1:%d/" % port in h.tail(log_path),
            "%s: the banner reached make run's output" % label, h.tail(log_path))
    R.check(not left, "%s: lighttpd and every program are gone within %gs" % (label, GONE_WITHIN),
            "left: %s" % sorted("%s[%d]" % (n, q) for q, n in left.items()))
    return sorted(left.values())


def main():
    subprocess.run(["make", "--no-print-directory", "all"], cwd=h.ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    leftovers = 0
    dirty = 0
    for i in range(TRIES):
        left = one_try("SIGINT to the group, try %d" % (i + 1), signal.SIGINT)
        if left:
            dirty += 1
            leftovers += len(left)
            print("  left behind: %s" % ", ".join(left))
    print("SIGINT: %d of %d tries left %d processes behind" % (dirty, TRIES, leftovers))
    one_try("Ctrl-C typed on make run's terminal", signal.SIGINT, how="terminal")
    one_try("SIGHUP to the group (terminal closed)", signal.SIGHUP)
    one_try("SIGTERM to the group", signal.SIGTERM)
    # A process manager, `kill PID`: make passes SIGTERM on to its recipe.
    one_try("SIGTERM to make alone", signal.SIGTERM, how="make")

    # The safety net: a program that outlives lighttpd (here a stand-in lighttpd
    # leaves a child that ignores SIGTERM) is stopped by make run all the same.
    run = h.tmpdir("make-run-")
    fake = os.path.join(run, "bin")
    os.mkdir(fake)
    h.write_text(os.path.join(fake, "lighttpd"),
                 '#!/bin/sh\n'
                 '[ "$1" = -tt ] && exit 0\n'
                 'run=$(dirname "$3")\n'
                 '(trap "" TERM; exec sleep 60) &\n'
                 'echo $! > "$run/child.pid"\n'
                 'trap "exit 0" TERM\n'
                 'sleep 60 & wait\n')
    os.chmod(os.path.join(fake, "lighttpd"), 0o755)
    log_path = os.path.join(run, "make-run.log")
    env = dict(os.environ, PATH=fake + ":" + os.environ["PATH"])
    with open(log_path, "w") as log:
        p = subprocess.Popen(["make", "--no-print-directory", "run", "PORT=%d" % h.free_port(),
                              "RUN=%s" % run], cwd=h.ROOT, stdin=subprocess.DEVNULL, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True, env=env,
                             preexec_fn=as_from_a_terminal)
    end = time.time() + 20
    while time.time() < end and not h.tail(os.path.join(run, "child.pid")).strip():
        time.sleep(0.1)
    table = processes()
    sessions = {p.pid} | {table[q][1] for q in descendants(p.pid, table) if q in table}
    child = int(h.tail(os.path.join(run, "child.pid")).strip() or 0)
    R.check(child in members(sessions, run), "stand-in lighttpd: its child runs")
    os.killpg(p.pid, signal.SIGINT)
    end = time.time() + SWEEP_WITHIN
    while time.time() < end and (members(sessions, run) or p.poll() is None):
        time.sleep(0.1)
    left = members(sessions, run)
    stop_leftovers(left, lambda: members(sessions, run))
    h.stop(p)
    R.check(not left, "stand-in lighttpd: what it left behind is gone", repr(left))
    R.check("left behind" in h.tail(log_path), "stand-in lighttpd: make run says so",
            h.tail(log_path))

    # lighttpd cannot start (the port is taken): make run fails at once, nothing stays.
    run = h.tmpdir("make-run-")
    busy = socket.socket()
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    log_path = os.path.join(run, "make-run.log")
    with open(log_path, "w") as log:
        p = make_run(run, port, log)
    try:
        rc = p.wait(20)
    except subprocess.TimeoutExpired:
        rc = None
    R.check(rc not in (None, 0), "port taken: make run fails (status %r)" % rc, h.tail(log_path))
    left = members({p.pid}, run)
    stop_leftovers(left, lambda: members({p.pid}, run))
    h.stop(p)
    busy.close()
    R.check(not left, "port taken: nothing of the run stays", repr(left))
    R.finish()


if __name__ == "__main__":
    main()
