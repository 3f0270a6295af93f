"""Where a playbook run's time went, from ansible-core's junit callback (benchmarks only).

    python3 benchmarks/lib/junit_profile.py JUNIT_DIR WALL_SECONDS WHAT

The junit callback writes one test case per task and host, timed from the task's start to that host's
result. Prints the run's summed task time (each task counted at its slowest host), the time per play
and the 15 costliest tasks with their files. Enable the callback for the run to profile with
ANSIBLE_CALLBACKS_ENABLED=ansible.builtin.junit JUNIT_OUTPUT_DIR=DIR JUNIT_HIDE_TASK_ARGUMENTS=true.
"""
import collections
import glob
import re
import sys
import xml.etree.ElementTree as ET


def main(argv):
    if len(argv) != 4:
        sys.exit("usage: junit_profile.py JUNIT_DIR WALL_SECONDS WHAT")
    files = glob.glob(argv[1] + "/*.xml")
    if not files:
        sys.exit("junit_profile.py: no junit file in %s (was the callback enabled?)" % argv[1])
    tasks, plays = collections.OrderedDict(), collections.OrderedDict()
    for case in ET.parse(files[0]).getroot().iter("testcase"):
        host, name = re.match(r"\[(.*?)\] (.*)", case.get("name")).groups()
        where = re.sub(r".*/ansible_collections/nixkit/nix/", "", case.get("classname"))
        tasks.setdefault((name, where), {})[host] = float(case.get("time"))
    for (name, where), hosts in tasks.items():
        play = name.split(": ", 1)[0]
        plays[play] = plays.get(play, 0) + max(hosts.values())
    total = sum(max(h.values()) for h in tasks.values())
    print("profile: %s, %s s wall; %d tasks, %.1f s summed (each task: its slowest host)"
          % (argv[3], argv[2], len(tasks), total))
    for play, secs in sorted(plays.items(), key=lambda p: -p[1]):
        print("  %6.1f s  %s" % (secs, play))
    ranked = sorted(tasks.items(), key=lambda t: -max(t[1].values()))
    top = sum(max(hosts.values()) for dummy, hosts in ranked[:15])
    print("costliest tasks (these 15: %.1f s; median task: %.1f s):"
          % (top, sorted(max(h.values()) for h in tasks.values())[len(tasks) // 2]))
    for rank, ((name, where), hosts) in enumerate(ranked[:15], 1):
        task = name.split(": ", 1)[-1].replace("nixkit.nix.", "")
        plural = " " if len(hosts) == 1 else "s"
        print("  %2d. %5.1f s  %d host%s  %s  (%s)" % (rank, max(hosts.values()), len(hosts), plural, task, where))


if __name__ == "__main__":
    main(sys.argv)
