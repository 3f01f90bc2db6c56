/**
 * Protocol timers, in ms. Fixed rather than configurable: they are tuned to one another and
 * to LAN round trips (well under 1 ms); docs/PROTOCOL.md explains each one.
 */
export const TIMERS = {
  /** A receiver waits uniformly in [min, max] before NACKing a gap, so that on a LAN where
   * every receiver loses the same datagram one of them NACKs first and the rest hear it and
   * stay quiet (SRM/NORM suppression). 20 ms spread vs ~0.2 ms propagation: ~1 NACK. */
  nackDelayMinMs: 1,
  nackDelayMaxMs: 20,
  /** A NACKed number is not NACKed again (by anyone who heard it) before this: time for the repair. */
  nackRetryMs: 40,
  /** The origin resends a number at most once in this window, however many NACKs ask. */
  resendSuppressMs: 15,
  /** A NACK for a number we resent less than this ago means that repair was lost to someone. */
  repairLossWindowMs: 1000,
  /** Every this many resends the origin compares how many were asked for again... */
  repairLossSample: 16,
  /** ...and sends one more copy of each resend above this share, one fewer below the next,
   * up to maxResendCopies (origin-repair.ts adaptCopies: the gap between them keeps it steady). */
  repairLossRaise: 0.5,
  repairLossLower: 0.15,
  maxResendCopies: 3,
  /** At most one snapshot per origin in this window: one serves every receiver. */
  snapshotMinIntervalMs: 100,
  /** A receiver whose digest still differs after a snapshot asks again after 2, 4, 8... heartbeat intervals, at most this. */
  snapshotRequestBackoffMaxMs: 60_000,
  /** A heartbeat this long after the last data datagram reveals a lost tail quickly... */
  tailHeartbeatMs: 25,
  /** ...sent only this long after a NACK last reached us: on a clean link it would double the
   * datagrams per write for nothing, and where loss was seen it is worth its bytes. */
  tailHeartbeatAfterNackMs: 10_000,
  /** Where resends go out twice (repairs are being lost), the tail heartbeat does too, this
   * long after the first: a receiver that lost both the tail and one heartbeat would otherwise
   * wait for the next regular heartbeat, a second later. */
  tailHeartbeatRepeatMs: 75,
  /** Heartbeats carry a signature (and both public keys) every n-th time, when a new peer
   * appears, and when asked. Only a backstop: a receiver without our keys asks for them (a
   * PING) and gets a signed answer at once. 95 bytes and one Ed25519 verify at every peer saved
   * on most heartbeats keep idle traffic and idle CPU low (a verify is 1-4 ms on a Pi). */
  signedHeartbeatEvery: 16,
  /** Regular heartbeats go out on the wall clock's multiples of the interval, every node at once,
   * so a node wakes for one burst a second, not once per peer (idle CPU at N = 10: -38%,
   * bench/NOTES.md). Falling into step is the point here: each burst is one small datagram per
   * node, and a LAN switch or a Wi-Fi access point serialises it. A heartbeat comes at least this
   * many intervals after the one before (a tail or a PING answer stands in for a regular one due
   * sooner), so the gap stays 0.1-1.1 intervals, under probeAfterIntervals. */
  heartbeatMinGap: 0.1,
  /** At most this many nodes share one heartbeat instant; a larger cluster spreads over evenly
   * spaced slots: 32 heartbeats of ~100 B are ~50 KB of a receive buffer, held for a few ms. */
  heartbeatGroupMax: 32,
  /** A peer silent for this many heartbeat intervals is probed with PINGs... */
  probeAfterIntervals: 1.25,
  /** ...every probeIntervalMs, each delayed up to probeJitterMs and suppressed like NACKs. */
  probeIntervalMs: 200,
  probeJitterMs: 20,
  /** A node answers PINGs at most this often (direct PINGs: per pinger, point-to-point.ts)... */
  pingAnswerMinIntervalMs: 50,
  /** ...and direct PINGs at most this many times a second in all: 29 peers probing every 200 ms
   * is 145, and an insider naming ever new pingers cannot make us sign more. */
  directPingAnswersPerSec: 200,
  /** A signed heartbeat follows a new peer within this, so it learns our key at once. */
  introduceMaxDelayMs: 20,
  /** We ask an unknown origin to introduce itself at most this often. */
  introductionRequestMs: 250,
  /** Direct messages are retried after 100, 200, 400, 400... ms until sendTimeoutMs. */
  messageRetryMs: 100,
  messageRetryMaxMs: 400,
  /** mDNS or static candidates not heard from are forgotten after this. */
  candidateTtlMs: 120_000,
  /** Unicast peers are told our peer list every n-th heartbeat, and when a peer comes up. */
  peerListEvery: 5,
  /** A goodbye is sent this many times: losing one costs a peer-timeout elsewhere. */
  goodbyeCopies: 2,
} as const

/**
 * Local health (Lifeguard, Dadgar et al. 2018): a node that was itself starved (event loop
 * lag, late timers, a backed-up receive queue) must not blame the silence it caused on its
 * peers. docs/PROTOCOL.md section 11.1 states the rule; these are its numbers.
 */
export const HEALTH = {
  /** Lag up to this is a healthy loop (GC pauses, a busy tick): no stretch, so a healthy node
   * still declares a kill -9 down after exactly peerTimeoutMs. */
  healthyLagMs: 50,
  /** The timeout grows by this many times the lag past healthyLagMs: our lag is how late we may
   * have read a heartbeat, and a peer on the same starved CPU sends it about as late. Additive,
   * not Lifeguard's multiplier: a 2-core host running 20 nodes lags 100-300 ms all the time, and
   * multiplying the timeout by that much delayed every real kill -9 by 10 s and more. */
  lagFactor: 2,
  /** The stretch is at most 4 timeouts (5 x peerTimeoutMs in all, 10 s at defaults): a real death
   * is still found within seconds while the node stays overloaded (Lifeguard bounds its
   * multiplier the same way, at 8). */
  maxExtraTimeouts: 4,
  /** The lag we remember halves every this: a starved spell stretches timeouts for a few
   * heartbeat intervals after it, then a healthy node is back to peerTimeoutMs. */
  lagHalfLifeMs: 2000,
  /** A tick this much later than the deadline the engine asked for is lag evidence. */
  lateTimerMs: 50,
  /** A lagging receiver's NACK waits its lag, at most this: the "missing" numbers may be unread in
   * its own queue. 500 ms was too short past saturation (N = 30 on 2 cores, queues seconds long):
   * 30,275 resends of datagrams still queued and 45 s to converge, against 6,536 and 13 s at 2 s
   * (BENCHMARKS.md, issue 13). Bounded: lag estimates can be tens of seconds (a nearly stalled
   * read rate), and a real loss must not wait that long. */
  maxNackLagWaitMs: 2000,
  /** After the kernel dropped datagrams for our socket, our NACKs go to the origin alone for this
   * long (point-to-point.ts): the losses are our own, and nobody else needs to read our NACK. Several
   * health samples, so a queue that overflows now and then keeps it on. */
  localLossMemoryMs: 5000,
} as const

/**
 * Repair budgets: token buckets that bound what repair (resends and snapshots) may cost,
 * whatever the NACKs ask, so repair cannot snowball into the overload that caused the loss.
 */
export const REPAIR = {
  /** All repair this node sends as an origin: 400 datagrams (~500 KB) per second is ~5% of a
   * Pi's 100 Mbit/s and a small share of its CPU; burst of one second. */
  originDatagramsPerSec: 400,
  originBytesPerSec: 512 * 1024,
  /** Repair asked by one requester: a quarter of the total, so one node far behind (or lying)
   * cannot take all of it from the others. */
  peerDatagramsPerSec: 100,
  peerBytesPerSec: 128 * 1024,
  /** A snapshot larger than the bucket may still go when the bucket is full: it leaves a debt
   * that later repair waits out, so a big state is never starved but cannot repeat at once. */
  maxDebtSeconds: 4,
  /** Receivers: an unanswered NACK is retried after nackRetryMs, doubling per unanswered retry
   * up to this, and back to nackRetryMs as soon as the gap shrinks. A NACK is not counted as
   * unanswered while the origin is seen resending (for anyone): it answers, only our NACK or its
   * repair was lost. (A 250 ms bound was tried and failed test/sim/wifi.test.ts's
   * multicast-blocked-everywhere case, whose 5 s bound that scenario only just meets.) */
  nackBackoffMaxMs: 1000,
  /** Each unanswered NACK multiplies the retry by this: 40, 57, 80, 113... ms, the bound after
   * 10 unanswered NACKs. Doubling reached it after 5, and on a path that loses half of what
   * crosses it (the bench lab's 30% per link), both copies of a repeated NACK or its repair are
   * lost often enough that 4-5 rounds in a row fail now and then: the last replica waited a
   * second or more for a healthy origin. Simulator, N = 10, 2,000 seeds
   * (bench/micro/exact-under-loss.ts): p98 845/880 -> 560/590 ms, over 1 s 28 -> 16 seeds, the
   * NACKs reaching the origin unchanged (0.89 per write). An overloaded origin still gets ever
   * fewer NACKs, and is asked once a second after about 3 s of silence instead of 1.2 s. */
  nackBackoffGrowth: Math.SQRT2,
  /** A NACK that repeats our last one with nothing gained goes out this many times (the same
   * bytes): at the bench lab's 30% per link (~51% per path) the time until all are exact fell
   * from p90 1,587 / p98 4,693 ms to 586 / 1,493 (simulator, N = 10, 300 seeds). */
  repeatNackCopies: 2,
  /** An overheard snapshot request for an origin stands for ours for this long (one snapshot
   * serves everyone), as an overheard NACK does for resends. */
  snapshotRequestSuppressMs: 1000,
  /** A snapshot request waits U[0, this] ms so that the first receiver asks and the rest overhear. */
  snapshotRequestDelayMaxMs: 50,
} as const

/** Most ranges in one NACK. */
export const MAX_NACK_RANGES = 32
/** A NACK asking for more than this many datagrams gets a snapshot instead when that is smaller. */
export const RESEND_SNAPSHOT_THRESHOLD = 64
