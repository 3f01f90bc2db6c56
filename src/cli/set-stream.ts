import { createInterface } from 'node:readline'
import { ControlClient, DaemonError, DaemonUnreachable } from '../daemon/control-client'
import type { CommandContext } from './context'
import { EXIT } from './exit-codes'
import { parseSetLine, type LineWrite } from './set-lines'

// A daemon restarting (upgrade, systemctl restart) takes about a second on a Pi: a stream waits
// this long for it before giving up, so `sensor_loop | dsn set --stdin` outlives a restart.
const RECONNECT_WAIT_MS = 10_000

// Requests sent ahead of their answers: the daemon answers in order, so each answer is still
// matched to its line, and a fast stream costs one round trip per window, not per line (which
// also lets the daemon coalesce writes into fewer datagrams).
const WINDOW = 64

/**
 * `dsn set --stdin`: every line's writes on one connection, in order, pipelined (WINDOW).
 * Per-line errors go to stderr naming the line and do not stop the stream; the exit status is
 * 1 when any line failed.
 */
export async function setFromStream(ctx: CommandContext, input: NodeJS.ReadableStream): Promise<number> {
  const { io, socketPath, flags, json } = ctx
  const connection = new Reconnecting(socketPath)
  let lineNo = 0
  let writes = 0
  let failed = 0
  const inFlight: Promise<void>[] = []
  try {
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      lineNo++
      const parsed = parseSetLine(line, flags.string === true)
      if (!parsed.ok) {
        failed++
        io.err(`dsn set: line ${lineNo}: ${parsed.error}\n`)
        continue
      }
      const at = lineNo
      for (const write of parsed.writes) {
        inFlight.push(
          connection.set(write).then((problem) => {
            if (problem === undefined) writes++
            else {
              failed++
              io.err(`dsn set: line ${at}: key ${JSON.stringify(write.key)}: ${problem}\n`)
            }
          }),
        )
        // Marked handled: after a fatal error, the writes behind it must not crash the process.
        inFlight[inFlight.length - 1].catch(() => undefined)
        if (inFlight.length >= WINDOW) await inFlight.shift()
      }
    }
    // Answers come in order: awaiting each in turn stops at the first fatal error.
    for (const pending of inFlight.splice(0)) await pending
  } finally {
    connection.close()
  }
  if (json) io.out(JSON.stringify({ ok: failed === 0, lines: lineNo, writes, failed }) + '\n')
  return failed === 0 ? EXIT.OK : EXIT.ERROR
}

/** One connection to the daemon, made again when it goes away (within RECONNECT_WAIT_MS). */
class Reconnecting {
  private client: Promise<ControlClient> | undefined
  private connectedOnce = false

  constructor(private readonly socketPath: string) {}

  /** undefined when written; the daemon's refusal as text; throws when no daemon comes back. */
  async set(write: LineWrite): Promise<string | undefined> {
    const deadline = Date.now() + RECONNECT_WAIT_MS
    for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
      // One connection shared by every write in flight, made again (once) when it is lost.
      const connection = (this.client ??= ControlClient.connect(this.socketPath))
      try {
        const client = await connection
        this.connectedOnce = true
        await client.request({ op: 'set', key: write.key, value: write.value })
        return undefined
      } catch (err) {
        if (err instanceof DaemonError) return `${err.message} (${err.code})`
        if (!(err instanceof DaemonUnreachable) || err.code === 'denied' || err.code === 'timeout') throw err
        if (this.client === connection) this.close()
        // The first connection fails at once when no daemon runs; later ones wait for a restart.
        if (Date.now() + delay > deadline || !this.connectedOnce) throw err
        await new Promise((r) => setTimeout(r, delay))
      }
    }
  }

  close(): void {
    void this.client?.then((c) => c.close()).catch(() => undefined)
    this.client = undefined
  }
}
