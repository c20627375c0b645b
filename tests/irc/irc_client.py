"""An independent IRC client for tests/irc.rs: the Python `irctokens`
package (PyPI) parses every line the server sends and writes every line the
test sends, so the server is checked against a library written from the
specs rather than against its own parser. Driven line by line on stdin,
reporting on stdout.

Commands (one per line):
  connect HOST PORT  -> "open", or "error WHAT"
  send JSON          JSON is an array, [COMMAND, PARAM...]: irctokens.build
                     writes it (a last parameter with a space or a leading
                     ":" becomes a trailing one)
  raw LINE           sends LINE as it is, CRLF added
  close              closes the connection
Reports: "recv JSON" for each line received, an object with "raw" (the
line as sent, without its line ending), "crlf" (whether it ended with CRLF),
"tags" (an object, or null), "source" (or null), "command" (upper case) and
"params" (an array); "closed" when the server closes; "error WHAT"
otherwise (invalid UTF-8 from the server is such an error).
"""

import json
import socket
import sys
import threading

import irctokens


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def reader(sock):
    # Lines are split here rather than by irctokens.StatefulDecoder, so that
    # each report carries the bytes the server sent beside what irctokens
    # made of them.
    pending = b""
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                break
            pending += data
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                crlf = raw.endswith(b"\r")
                raw = raw.removesuffix(b"\r").decode("utf-8")
                line = irctokens.tokenise(raw)
                say("recv " + json.dumps({
                    "raw": raw,
                    "crlf": crlf,
                    "tags": line.tags,
                    "source": line.source,
                    "command": line.command,
                    "params": line.params,
                }))
    except Exception as e:  # reported, so the test shows it
        say("error %s: %s" % (type(e).__name__, e))
    say("closed")


def main():
    sock = None
    encoder = irctokens.StatefulEncoder()
    for line in sys.stdin:
        command, _, arg = line.rstrip("\n").partition(" ")
        try:
            if command == "connect":
                host, _, port = arg.partition(" ")
                sock = socket.create_connection((host, int(port)), timeout=10)
                sock.settimeout(None)
                say("open")
                threading.Thread(target=reader, args=(sock,), daemon=True).start()
            elif command == "send":
                words = json.loads(arg)
                encoder.push(irctokens.build(words[0], words[1:]))
                while encoder.pending():
                    encoder.pop(sock.send(encoder.pending()))
            elif command == "raw":
                sock.sendall(arg.encode() + b"\r\n")
            elif command == "close":
                sock.close()
            else:
                say("error unknown command " + command)
        except Exception as e:  # reported, so the test shows it
            say("error %s: %s" % (type(e).__name__, e))


main()
