// Line-oriented view of a child's output, so tests await what a process says
// instead of sleeping.
import { Readable } from 'stream'

export type LineMatch = string | RegExp | ((line: string) => boolean)

function matcher(m: LineMatch): (line: string) => boolean {
  if (typeof m === 'string') return (line) => line === m
  if (m instanceof RegExp) return (line) => m.test(line)
  return m
}

interface Waiter {
  m: LineMatch
  test: (line: string) => boolean
  resolve: (line: string) => void
  reject: (err: Error) => void
}

export class LineLog {
  readonly lines: string[] = []
  private partial = ''
  private ended = false
  private waiters = new Set<Waiter>()

  constructor(
    stream: Readable,
    private readonly label = 'stream',
  ) {
    stream.setEncoding('utf8')
    stream.on('data', (chunk: string) => this.push(chunk))
    stream.on('end', () => this.end())
    stream.on('close', () => this.end())
  }

  has(m: LineMatch): boolean {
    return this.lines.some(matcher(m))
  }

  count(m: LineMatch): number {
    return this.lines.filter(matcher(m)).length
  }

  /** First line (already seen or still to come) that matches; rejects on timeout or end of stream. */
  waitFor(m: LineMatch, timeoutMs = 5000): Promise<string> {
    const test = matcher(m)
    const seen = this.lines.find(test)
    if (seen !== undefined) return Promise.resolve(seen)
    if (this.ended) return Promise.reject(this.failure(m, 'the stream ended'))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(w)
        reject(this.failure(m, `nothing matched within ${timeoutMs} ms`))
      }, timeoutMs)
      const w: Waiter = {
        m,
        test,
        resolve: (line) => {
          clearTimeout(timer)
          resolve(line)
        },
        reject: (err) => {
          clearTimeout(timer)
          reject(err)
        },
      }
      this.waiters.add(w)
    })
  }

  private failure(m: LineMatch, why: string): Error {
    const tail = this.lines.slice(-10).join('\n  ')
    return new Error(`${this.label}: waiting for ${String(m)}: ${why}; last lines:\n  ${tail}`)
  }

  private push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n')
    this.partial = parts.pop() ?? ''
    for (const line of parts) this.add(line)
  }

  private add(line: string): void {
    this.lines.push(line)
    for (const w of [...this.waiters]) {
      if (w.test(line)) {
        this.waiters.delete(w)
        w.resolve(line)
      }
    }
  }

  private end(): void {
    if (this.ended) return
    if (this.partial) this.add(this.partial)
    this.partial = ''
    this.ended = true
    for (const w of [...this.waiters]) w.reject(this.failure(w.m, 'the stream ended'))
    this.waiters.clear()
  }
}
