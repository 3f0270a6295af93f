"""Run a command and report the peak memory of its whole process tree and where the CPU went
(benchmarks only).

    python3 benchmarks/lib/peak_rss.py OUTFILE -- COMMAND [ARGS...]

Samples every 0.1 s the summed resident set size of the command and all its descendants (Ansible
forks a worker per host and task, so one process's maximum would miss most of it). Writes one line to
OUTFILE: the peak in MiB, the CPU seconds of the command's tree (user + system of it and every
descendant it waited for: ansible-playbook and its workers, the controller's share) and the CPU seconds
the whole machine was busy meanwhile (/proc/stat; on a lab machine that adds the lab hosts' sshd and
module runs, which share the same cores). Exits with the command's exit code.
"""
import os
import subprocess
import sys
import time


def children_map():
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                # The command name may hold spaces and parentheses: the parent pid follows the last ')'.
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def tree_rss_kib(root):
    kids, total, todo = children_map(), 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(kids.get(pid, ()))
        try:
            with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
                total += int(statm.read().split()[1]) * os.sysconf("SC_PAGESIZE") // 1024
        except (OSError, IndexError, ValueError):
            pass  # the process ended between the listing and the read
    return total


def machine_busy_seconds():
    """CPU seconds all cores spent outside idle and iowait since boot."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def main(argv):
    if len(argv) < 4 or argv[2] != "--":
        sys.exit("usage: peak_rss.py OUTFILE -- COMMAND [ARGS...]")
    busy0 = machine_busy_seconds()
    proc = subprocess.Popen(argv[3:])  # pylint: disable=consider-using-with
    peak, status, usage = 0, None, None
    while status is None:
        pid, wstatus, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            status, usage = os.waitstatus_to_exitcode(wstatus), rusage
            break
        peak = max(peak, tree_rss_kib(proc.pid))
        time.sleep(0.1)
    proc.returncode = status  # reaped here: Popen must not wait for it again
    controller = usage.ru_utime + usage.ru_stime
    with open(argv[1], "w", encoding="ascii") as out:
        out.write(f"{peak / 1024:.0f} {controller:.1f} {machine_busy_seconds() - busy0:.1f}\n")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
