"""Run a command and report the peak memory of its whole process tree (benchmarks only).

    python3 benchmarks/lib/peak_rss.py OUTFILE -- COMMAND [ARGS...]

Samples every 0.1 s the summed resident set size of the command and all its descendants (Ansible
forks a worker per host and task, so one process's maximum would miss most of it), writes the peak in
MiB to OUTFILE and exits with the command's exit code.
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


def main(argv):
    if len(argv) < 4 or argv[2] != "--":
        sys.exit("usage: peak_rss.py OUTFILE -- COMMAND [ARGS...]")
    proc = subprocess.Popen(argv[3:])  # pylint: disable=consider-using-with
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss_kib(proc.pid))
        time.sleep(0.1)
    with open(argv[1], "w", encoding="ascii") as out:
        out.write(f"{peak / 1024:.0f}\n")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv))
