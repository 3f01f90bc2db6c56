// Reading .cpuprofile files (node --cpu-prof), shared by profile-summary.ts and profile-tree.ts.
import { readFileSync } from 'node:fs'

export interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

export interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
  startTime: number
  endTime: number
}

export interface LoadedProfile {
  profile: Profile
  byId: Map<number, ProfileNode>
  /** Sampled time (us) with each node on top of the stack. */
  selfUs: Map<number, number>
}

/** `lastUs`: only the samples of the profile's last that many microseconds. */
export function loadProfile(file: string, lastUs = Infinity): LoadedProfile {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<number, number>()
  const from = profile.endTime - lastUs
  let at = profile.startTime
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0
    at += delta
    if (at >= from) selfUs.set(id, (selfUs.get(id) ?? 0) + delta)
  })
  return { profile, byId, selfUs }
}
