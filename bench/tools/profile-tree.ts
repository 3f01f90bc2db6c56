// One function's callees in a .cpuprofile, merged by name and line: where its time goes, a few
// levels down (profile-summary.ts gives self time; this gives the inclusive tree under one root).
//   node --import tsx bench/tools/profile-tree.ts FILE FUNCTION:LINE [DEPTH=3]
// FUNCTION:LINE as the profile names it, e.g. receive:3706 in the bench's bundled agent
// (bench/.build/node-agent.cjs). Callees under 2 ms are left out.
import { loadProfile, type ProfileNode } from './cpuprofile'

interface Branch {
  totalUs: number
  selfUs: number
  callees: Map<string, Branch>
}

const [file, root, depthArg] = process.argv.slice(2)
if (!file || !root) {
  console.error('usage: profile-tree.ts FILE FUNCTION:LINE [DEPTH]')
  process.exit(2)
}
const { profile, byId, selfUs } = loadProfile(file)
const parentOf = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id)
const totals = new Map<number, number>()
const totalOf = (id: number): number => {
  const known = totals.get(id)
  if (known !== undefined) return known
  const n = byId.get(id) as ProfileNode
  const total = (selfUs.get(id) ?? 0) + (n.children ?? []).reduce((sum, c) => sum + totalOf(c), 0)
  totals.set(id, total)
  return total
}
const nameOf = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'}:${n.callFrame.lineNumber + 1}`
const branch = (): Branch => ({ totalUs: 0, selfUs: 0, callees: new Map() })

function merge(into: Branch, id: number, depth: number): void {
  into.totalUs += totalOf(id)
  into.selfUs += selfUs.get(id) ?? 0
  if (depth === 0) return
  for (const c of (byId.get(id) as ProfileNode).children ?? []) {
    const name = nameOf(byId.get(c) as ProfileNode)
    if (!into.callees.has(name)) into.callees.set(name, branch())
    merge(into.callees.get(name) as Branch, c, depth - 1)
  }
}

/** Whether `id` sits under another call of the root: its time is counted there already. */
function nested(id: number): boolean {
  for (let up = parentOf.get(id); up !== undefined; up = parentOf.get(up)) if (nameOf(byId.get(up) as ProfileNode) === root) return true
  return false
}

const top = branch()
for (const n of profile.nodes) if (nameOf(n) === root && !nested(n.id)) merge(top, n.id, Number(depthArg ?? 3))
const ms = (us: number) => (us / 1000).toFixed(1)
function print(b: Branch, indent: string): void {
  for (const [name, c] of [...b.callees].sort((x, y) => y[1].totalUs - x[1].totalUs)) {
    if (c.totalUs < 2000) continue
    console.log(`${indent}${ms(c.totalUs)} ms (self ${ms(c.selfUs)}) ${name}`)
    print(c, indent + '  ')
  }
}
console.log(`${root}: ${ms(top.totalUs)} ms (self ${ms(top.selfUs)})`)
print(top, '  ')
