// Times each crypto and codec stage alone, on the datagrams the writer really sent.
import { performance } from 'node:perf_hooks'
import type { Engine } from '../../src/core/engine'
import { open, seal, signedMessage } from '../../src/seal/envelope'
import { deriveNetworkKey } from '../../src/seal/keys'
import { hasOurMac, macTrailer, type PairKey } from '../../src/seal/pair-keys'
import { verifierFor, type Signer } from '../../src/seal/signer'
import { decodeFrame, encodeFrame } from '../../src/wire/frame'

function time(n: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(n, 200); i++) fn(i)
  const t0 = performance.now()
  for (let i = 0; i < n; i++) fn(i)
  return +(((performance.now() - t0) * 1000) / n).toFixed(2)
}

export function stageProbes(writer: Engine, reader: Engine, data: Uint8Array[]): Record<string, number> {
  const config = writer.config
  const key = deriveNetworkKey(config.networkKey, config.cluster)
  const cluster = new TextEncoder().encode(config.cluster)
  const opened = data.map((d) => {
    const o = open([key], cluster, d)
    if (!o.ok) throw new Error(o.reason)
    return o.value
  })
  const frames = opened.map((o) => decodeFrame(o.frame))
  const signer = (writer.sealer as unknown as { signer: Signer }).signer
  const verify = verifierFor(signer.publicKey)
  const receivers = [...writer.peers.values()].map((p) => p.macOut).filter((k): k is PairKey => k !== null)
  const macIn = reader.peers.get(writer.config.nodeId)?.macIn
  const n = data.length
  const nonce = new Uint8Array(12)
  const maced = opened.filter((o) => o.macs !== null).length
  const out: Record<string, number> = {
    'datagrams.maced': maced,
    'datagrams.signed': opened.filter((o) => o.signed).length,
    'writer.encode': time(n, (i) => encodeFrame(frames[i])),
    'writer.sign': time(Math.min(n, 1000), (i) => signer.sign(signedMessage(cluster, opened[i].frame))),
    [`writer.macs(${receivers.length})`]: time(n, (i) => macTrailer(receivers, opened[i].frame)),
    'writer.seal': time(n, (i) => seal(key, cluster, nonce, opened[i].frame, opened[i].signature, opened[i].macs ? macTrailer(receivers, opened[i].frame) : null)),
    'reader.open': time(n, (i) => open([key], cluster, data[i])),
    'reader.decode': time(n, (i) => decodeFrame(opened[i].frame)),
    'reader.verify': time(Math.min(n, 1000), (i) => verify(signedMessage(cluster, opened[i].frame), signer.sign(signedMessage(cluster, opened[i].frame)))),
  }
  // seal above includes the MAC trailer; report the AEAD part alone.
  out['writer.seal'] = +(out['writer.seal'] - (maced > 0 ? out[`writer.macs(${receivers.length})`] : 0)).toFixed(2)
  out['reader.verify'] = +(out['reader.verify'] - out['writer.sign']).toFixed(2)
  if (macIn) out['reader.mac'] = time(n, (i) => opened[i].macs && hasOurMac(macIn, opened[i].frame, opened[i].macs))
  return out
}
