// Random TCP loss on a lab host's link, beside the lab's own UDP loss (test/lab/nft.ts drops
// UDP only): the broker's clients speak TCP, and a fair loss figure drops their segments too.
// Same place (the host's bridge port, both directions) and the same numgen rule, in a table
// of our own so the lab's tables are never touched. Removed with the lab's bridge namespace.
import type { Lab } from '../../test/lab/netns'
import { runOk } from '../../test/lab/run'

function table(i: number): string {
  return `dsnbench_tcp_vh${i}`
}

export async function setTcpLoss(lab: Lab, host: number, percent: number): Promise<void> {
  const port = `vh${host}`
  const lines = [`table netdev ${table(host)}`, `delete table netdev ${table(host)}`]
  if (percent > 0) {
    const rule = `meta l4proto tcp numgen random mod 10000 < ${Math.round(percent * 100)} counter drop`
    lines.push(
      `table netdev ${table(host)} {`,
      `  chain from_host { type filter hook ingress device "${port}" priority 1; policy accept; ${rule}; }`,
      `  chain to_host { type filter hook egress device "${port}" priority 1; policy accept; ${rule}; }`,
      '}',
    )
  }
  await runOk('ip', ['netns', 'exec', lab.bridgeNs, 'nft', '-f', '-'], { input: lines.join('\n') + '\n' })
}

/**
 * UDP (the lab's rule) and TCP (ours) loss on every host. A few hosts at a time: 2 x N nft
 * transactions at once into one namespace contend for its commit lock, and at N = 20 under
 * load some took past the runner's 20 s timeout and were killed, leaving half the rules.
 */
export async function setLossEverywhere(lab: Lab, percent: number): Promise<void> {
  const AT_ONCE = 4
  for (let i = 0; i < lab.hosts.length; i += AT_ONCE) {
    await Promise.all(lab.hosts.slice(i, i + AT_ONCE).map(async (h) => {
      await lab.setLoss(h.index, percent)
      await setTcpLoss(lab, h.index, percent)
    }))
  }
}
