"""Counts the displays that reach the front end when a cell exits right after sending them.

Run by kernel/notebooktest (TestDisplaysNotLost) with DIVELLM_KERNEL and JUPYTER_PATH set
to the test kernelspec and GOMAXPROCS=1 for the kernel:
    DIVELLM_KERNEL=gonb-divellm python3 display_race.py CELLS PER_CELL
Each cell sends PER_CELL HTML displays through gonbui (which does not sync at exit) and
ends; the script counts the display_data messages the kernel publishes for that cell
before it reports idle. Cells run back to back, which is what made GoNB v0.11.4's race
between its pipe reader and the end of the program show (third_party/gonb/PATCHES.md).
Prints one line per cell that lost displays and a last line "lost L of N"; exits 1 if L > 0.
"""

import os
import sys

from jupyter_client.manager import start_new_kernel

GUARD = 600  # seconds: a guard against a hung kernel, not a speed limit


def main():
    cells, per = int(sys.argv[1]), int(sys.argv[2])
    km, kc = start_new_kernel(kernel_name=os.environ.get("DIVELLM_KERNEL", "gonb-divellm"), startup_timeout=GUARD)
    try:
        kc.execute_interactive("%noautoget", timeout=GUARD)
        lost = 0
        for i in range(cells):
            code = ('%%noautoget\nimport (\n"fmt"\n"github.com/janpfeifer/gonb/gonbui"\n)\n%%%%\n'
                    'for j := 0; j < %d; j++ { gonbui.DisplayHTML(fmt.Sprintf("<b>cell %d display %%d</b>", j)) }' % (per, i))
            texts = []

            def hook(msg):
                if msg["msg_type"] == "display_data":
                    texts.append(msg["content"]["data"].get("text/html", ""))

            reply = kc.execute_interactive(code, timeout=GUARD, output_hook=hook)
            if reply["content"]["status"] != "ok":
                print("cell %d failed: %s" % (i, reply["content"]))
                return 2
            want = ["<b>cell %d display %d</b>" % (i, j) for j in range(per)]
            if texts != want:
                lost += per - len(texts)
                print("cell %d: got %r, want %r" % (i, texts, want))
        print("lost %d of %d" % (lost, cells * per))
        return 1 if lost else 0
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    sys.exit(main())
