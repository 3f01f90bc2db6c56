"""Runs the unittest suite and prints one JSON line per test on stdout, for test/python/client.test.ts
to report each as a tap assertion: {"test": id, "outcome": "ok"|"fail"|"error"|"skip", "detail": str}."""
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class JsonLinesResult(unittest.TestResult):
    def _emit(self, test, outcome, detail=""):
        sys.stdout.write(json.dumps({"test": test.id(), "outcome": outcome, "detail": detail}) + "\n")
        sys.stdout.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self._emit(test, "ok")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._emit(test, "fail", self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._emit(test, "error", self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._emit(test, "skip", reason)


def main() -> int:
    sys.path.insert(0, HERE)
    suite = unittest.defaultTestLoader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    sys.stdout.write(json.dumps({"planned": suite.countTestCases()}) + "\n")
    result = JsonLinesResult()
    suite.run(result)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
