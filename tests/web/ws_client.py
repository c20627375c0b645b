"""An independent WebSocket client for tests/web.rs: the Python `websockets`
package, driven line by line on stdin, reporting on stdout.

Commands (one per line):
  connect URL [ORIGIN]  -> "open" or "refused STATUS"
  connectirc URL        connects offering IRC's subprotocol text.ircv3.net
                        -> "open SUBPROTOCOL" (what the server chose)
  send TEXT             sends TEXT as one text message
  sendjson STRING       sends one text message: STRING is a JSON string, so
                        it may hold line breaks ("a\\nb")
  sendsize N            sends a text message of N bytes of "x"
  binary TEXT           sends TEXT as a binary message
  ping                  -> "pong" once answered
  close [CODE]          closes with CODE (default 1000)
Reports: "recv TEXT" for each message, "closed CODE" when the server
closes (1006: without a close frame), "error WHAT" otherwise.
"""

import json
import sys
import threading

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def reader(ws):
    try:
        while True:
            message = ws.recv()
            if isinstance(message, bytes):
                message = "binary " + message.hex()
            say("recv " + message)
    except ConnectionClosed as e:
        code = e.rcvd.code if e.rcvd is not None else 1006
        say("closed %d" % code)


def main():
    ws = None
    for line in sys.stdin:
        command, _, arg = line.rstrip("\n").partition(" ")
        try:
            if command == "connect":
                url, _, origin = arg.partition(" ")
                try:
                    ws = connect(url, origin=origin or None, max_size=None,
                                 ping_interval=None, open_timeout=10)
                except InvalidStatus as e:
                    say("refused %d" % e.response.status_code)
                    continue
                say("open")
                threading.Thread(target=reader, args=(ws,), daemon=True).start()
            elif command == "connectirc":
                ws = connect(arg, subprotocols=["text.ircv3.net"], max_size=None,
                             ping_interval=None, open_timeout=10)
                say("open %s" % ws.subprotocol)
                threading.Thread(target=reader, args=(ws,), daemon=True).start()
            elif command == "send":
                ws.send(arg)
            elif command == "sendjson":
                ws.send(json.loads(arg))
            elif command == "sendsize":
                ws.send("x" * int(arg))
            elif command == "binary":
                ws.send(arg.encode())
            elif command == "ping":
                ws.ping().wait(10)
                say("pong")
            elif command == "close":
                ws.close(int(arg or "1000"))
            else:
                say("error unknown command " + command)
        except Exception as e:  # reported, so the test shows it
            say("error %s: %s" % (type(e).__name__, e))


main()
