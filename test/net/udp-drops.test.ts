// Parsing the kernel's per-socket UDP drops (/proc/net/udp) for the kernel-drops counter.
import t from 'tap'
import { parseProcNetUdp, socketsBoundTo } from '../../src/net/udp-drops'

const SAMPLE = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  213: 00000000:B93A 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 51234 2 0000000000000000 17
  400: 00000000:B93A 00000000:0000 07 00000000:00000A00 00:00000000 00000000     0        0 99999 2 0000000000000000 500
  771: 0A2F0001:D1C2 00000000:0000 07 00000000:00001000 00:00000000 00000000     0        0 51240 2 0000000000000000 3
  772: 0A2F0001:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 51241 2 0000000000000000 9
`

t.test('sums drops and queued bytes of our inodes on our ports only', async (t) => {
  // 0xB93A = 47418 (group port, shared with inode 99999 of another node), 0xD1C2 = 53698 (unicast).
  const stats = parseProcNetUdp(SAMPLE, new Set(['51234', '51240', '51241']), new Set([47418, 53698]))
  t.same(stats, { drops: 20, rxQueueBytes: 0x1000 })
})

t.test('garbage lines are skipped, never thrown', async (t) => {
  t.same(parseProcNetUdp('header\nnot a line\n\n', new Set(['1']), new Set([1])), { drops: 0, rxQueueBytes: 0 })
})

t.test('an inode number elsewhere on a line (uid) is not taken for ours', async (t) => {
  const line = '  5: 00000000:B93A 00000000:0000 07 00000000:00000100 00:00000000 00000000 51234        0 77777 2 0000000000000000 4\n'
  t.same(parseProcNetUdp(SAMPLE.split('\n')[0] + '\n' + line, new Set(['51234']), new Set([47418])), { drops: 0, rxQueueBytes: 0 })
})

t.test('sockets bound to a port: every local address and process counts, a remote port does not', async (t) => {
  // 0xB93A = 47418: two sockets bound to it (ours and another node's); line 773 has it only as a remote port.
  const remote = '  773: 0A2F0001:D1C3 0A2F0002:B93A 01 00000000:00000000 00:00000000 00000000     0        0 51242 2 0000000000000000 0\n'
  t.equal(socketsBoundTo(SAMPLE + remote, 47418), 2)
  t.equal(socketsBoundTo(SAMPLE, 53698), 1)
  t.equal(socketsBoundTo(SAMPLE, 1), 0)
  t.equal(socketsBoundTo('header\nnot a line\n', 47418), 0, 'garbage counts nothing')
  t.equal(socketsBoundTo(SAMPLE, 53), 1, 'a low port, zero-padded (0x0035)')
})
