"""Jupyter protocol conformance of the Go (divellm) kernel, with jupyter_kernel_test.

Run by kernel/notebooktest (go test), which installs a test copy of the kernelspec with
GoNB's --raw_error (plain-text errors) and sets DIVELLM_KERNEL and JUPYTER_PATH:
    DIVELLM_KERNEL=gonb-divellm python3 test_gonb_kernel.py
The report goes to stdout; the kernel's own logs go to stderr.

Enabled: kernel_info, execute (stdout, stderr), display_data, error, completion, inspect,
is_complete (GoNB v0.11.4 ignored is_complete_request and consoles waited forever; the
kernel built from third_party/gonb answers it, patch 2 of its PATCHES.md).
Deliberately NOT enabled:
  - execute_result / history: GoNB never sends execute_result (cells print or display).
Every code sample starts with %noautoget: GoNB would otherwise run `go get` for the cell,
which needs the network; versions come from the project's go.mod through go.work.

No test may depend on how fast the machine is. jupyter_kernel_test waits TIMEOUT (15 s)
for each reply, and its execute_helper binds that default when the module is imported,
so on a busy 2-core machine the first cell (a cold compile of fmt, os and gonbui: 20 s
there) got no reply in time and test_display_data saw 0 messages. So: setUpClass runs one
warm-up cell that compiles what the samples import and waits for its reply (an event, with
a guard of minutes), and execute_helper is overridden to wait for the reply and for the
kernel's "idle" status with guards of minutes instead of 15 s and 0.1 s.
"""

import os
import sys
import unittest

import jupyter_kernel_test as jkt
from jupyter_client.utils import run_sync
from jupyter_kernel_test.msgspec_v5 import validate_message

NOAUTOGET = "%noautoget\n"

# Guards, not budgets: how long to wait for a reply before calling the kernel hung. Read
# at call time by jupyter_kernel_test's completion and inspect tests; execute_helper below.
jkt.TIMEOUT = 600
# How long a message on iopub may take to follow the reply (they travel on different
# sockets; the kernel sends the outputs before the reply, the idle status after).
IOPUB_TIMEOUT = 120
# The warm-up cell: compiles everything the code samples import, once.
WARMUP = NOAUTOGET + 'import (\n"fmt"\n"os"\n"github.com/janpfeifer/gonb/gonbui"\n)\n%%\nfmt.Fprint(os.Stderr, "")\ngonbui.DisplayHTML("")\nfmt.Println("warm")'


class GoNBDivellmKernelTests(jkt.KernelTests):
    kernel_name = os.environ.get("DIVELLM_KERNEL", "gonb-divellm")
    language_name = "go"
    file_extension = ".go"

    code_hello_world = NOAUTOGET + '%%\nfmt.Println("hello, world")'
    code_stderr = NOAUTOGET + '%%\nfmt.Fprintln(os.Stderr, "to stderr")'
    code_display_data = [
        {
            "code": NOAUTOGET + 'import "github.com/janpfeifer/gonb/gonbui"\n%%\ngonbui.DisplayHTML("<b>bold</b>")',
            "mime": "text/html",
        },
    ]
    # A compile error: with --raw_error the kernel answers with a single error message.
    code_generate_error = NOAUTOGET + "%%\nvar x int = \"not an int\"\n_ = x"
    # A cell's statements run in main only after "%%"; completion needs that too.
    completion_samples = [{"text": "%%\nstrings.ToU", "matches": {"ToUpper", "ToUpperSpecial", "ToValidUTF8"}}]
    code_inspect_sample = "%%\nfmt.Println"
    # What a console asks on Enter: run it, or wait for more lines.
    complete_code_samples = ["fmt.Println(1)", "%%\nx := 1\nx++", "func f() int { return 1 }", "%noautoget", ""]
    incomplete_code_samples = ["func f() {", "%%\nfor i := 0; i < 3; i++ {", "x := []int{1,\n2,", "s := `raw", "x := 1 +"]
    invalid_code_samples = ["}", "fmt.Println(1))", "x := [1)", "x := \"open"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Turn off GoNB's per-cell `go get` (needs the network) for completion and inspect,
        # which run before any sample cell does, compile once what the samples import, and
        # start gopls, each waited for until it answers.
        cls.kc.execute_interactive("%noautoget", timeout=jkt.TIMEOUT)
        reply = cls.kc.execute_interactive(WARMUP, timeout=jkt.TIMEOUT)
        if reply["content"]["status"] != "ok":
            raise RuntimeError("warm-up cell failed: %s" % reply["content"])
        cls.kc.complete("%%\nfmt.Prin")
        cls.kc.get_shell_msg(timeout=jkt.TIMEOUT)

    def execute_helper(self, code, timeout=None, silent=False, store_history=True, stop_on_error=True):
        """jupyter_kernel_test's execute_helper with guards of minutes: it waits for the
        execute_reply, then reads iopub until the kernel reports idle."""
        msg_id = self.kc.execute(code=code, silent=silent, store_history=store_history, stop_on_error=stop_on_error)
        reply = self.get_non_kernel_info_reply(timeout=timeout or jkt.TIMEOUT)
        validate_message(reply, "execute_reply", msg_id)
        busy = run_sync(self.kc.iopub_channel.get_msg)(timeout=IOPUB_TIMEOUT)
        validate_message(busy, "status", msg_id)
        self.assertEqual(busy["content"]["execution_state"], "busy")
        output_msgs = []
        while True:
            msg = run_sync(self.kc.iopub_channel.get_msg)(timeout=IOPUB_TIMEOUT)
            validate_message(msg, msg["msg_type"], msg_id)
            if msg["msg_type"] == "status":
                self.assertEqual(msg["content"]["execution_state"], "idle")
                break
            if msg["msg_type"] == "execute_input":
                self.assertEqual(msg["content"]["code"], code)
                continue
            output_msgs.append(msg)
        return reply, output_msgs


if __name__ == "__main__":
    unittest.main(testRunner=unittest.TextTestRunner(stream=sys.stdout, verbosity=2))
