// What the figures were measured on, and how busy the machine was meanwhile: absolute times
// on a shared 2-core machine mean little without the load beside them.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import * as os from 'node:os'

export interface Machine {
  nproc: number
  cpu: string
  kernel: string
  node: string
  memoryGiB: number
  mosquitto: string
}

export function describeMachine(): Machine {
  let mosquitto = 'not installed'
  try {
    mosquitto = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'mosquitto'], { encoding: 'utf8' }).trim()
  } catch {
    // left as not installed
  }
  return {
    nproc: os.cpus().length,
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    mosquitto,
  }
}

interface CpuTimes {
  busy: number
  total: number
}

function cpuTimes(): CpuTimes {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]
  const f = line.trim().split(/\s+/).slice(1).map(Number)
  const idle = f[3] + (f[4] ?? 0)
  const total = f.reduce((a, b) => a + b, 0)
  return { busy: total - idle, total }
}

export interface LoadSample {
  /** 1-minute load average at the end of the section. */
  loadavg1: number
  /** Share of all cores busy during the section (everyone's processes, ours included), %. */
  busyPercent: number
}

/** Starts watching; the returned function gives the load over the interval. */
export function watchLoad(): () => LoadSample {
  const start = cpuTimes()
  return () => {
    const end = cpuTimes()
    const total = end.total - start.total
    return {
      loadavg1: Math.round(os.loadavg()[0] * 100) / 100,
      busyPercent: total > 0 ? Math.round(((end.busy - start.busy) / total) * 1000) / 10 : NaN,
    }
  }
}
