"""Jupyter protocol conformance of the Go (divellm) kernel, with jupyter_kernel_test.

Run by kernel/notebooktest (go test), which installs a test copy of the kernelspec with
GoNB's --raw_error (plain-text errors) and sets DIVELLM_KERNEL and JUPYTER_PATH:
    DIVELLM_KERNEL=gonb-divellm python3 test_gonb_kernel.py
The report goes to stdout; the kernel's own logs go to stderr.

Enabled: kernel_info, execute (stdout, stderr), display_data, error, completion, inspect.
Deliberately NOT enabled:
  - is_complete (complete_code_samples & co.): GoNB ignores is_complete_request, and
    jupyter_kernel_test then waits forever.
  - execute_result / history: GoNB never sends execute_result (cells print or display).
Every code sample starts with %noautoget: GoNB would otherwise run `go get` for the cell,
which needs the network; versions come from the project's go.mod through go.work.
"""

import os
import sys
import unittest

import jupyter_kernel_test as jkt

NOAUTOGET = "%noautoget\n"

# jupyter_kernel_test waits 15 s for a reply (read at call time for completion and
# inspect). The first completion starts gopls on the whole checkout, which takes ~13 s
# here; setUpClass pays that once with a long timeout, and this limit is the safety margin.
jkt.TIMEOUT = 60


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

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Turn off GoNB's per-cell `go get` (needs the network) for completion and inspect,
        # which run before any sample cell does, and start gopls before the timed tests.
        cls.kc.execute_interactive("%noautoget", timeout=120)
        cls.kc.complete("%%\nfmt.Prin")
        cls.kc.get_shell_msg(timeout=300)


if __name__ == "__main__":
    unittest.main(testRunner=unittest.TextTestRunner(stream=sys.stdout, verbosity=2))
