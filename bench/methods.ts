// How each figure is obtained, printed into BENCHMARKS.md under "Methods".
export const METHODS = `- **Lab.** N node hosts plus one spare host (the broker for Mosquitto, the joining node for
  membership), each a network namespace with one veth on a shared bridge (multicast flooded, no
  IGMP snooping), built by \`test/lab/netns.ts\`. Nothing leaves the machine. Each veth delivers
  from a NAPI kernel thread of its own (GRO on, TSO off, \`threaded\`; \`test/lab/setup.ts\`), as a
  switch and a NIC do: a sender's syscall ends when its frame is queued, and the bridge's flood
  and every host's IP and UDP receive run in those threads, whose CPU per write is a row of its
  own ("the network"). Until 2026-12-07 the lab ran them inside the sender's sendmsg, so a
  multicast writer was charged for delivering into all N-1 hosts (~30 us of system time per
  datagram at N = 10 on this machine), and a broker's clients only for reaching the broker;
  \`--inline-delivery\` builds that lab again. Every node is its
  own process (\`bench/agents/node-agent.ts\`, the mesh-agent protocol of the tests plus a few
  benchmark ops), bundled by esbuild with the shipped bundle's plugins and run by plain node
  (under tsx an idle process costs 10-16 ms of CPU a second here, which every system's CPU per
  write would carry), driven over stdin/stdout; every event is stamped inside the node
  process with CLOCK_MONOTONIC (\`process.hrtime\`), one clock for all processes.
- **Systems.** *DSN*: \`DSNode.start({ nodeId, networkKey, credentialDir })\`, every other
  setting at its default (1 s heartbeats, 2 s peer timeout, mDNS on). *Mosquitto*: Debian's
  \`mosquitto\` at its defaults (only \`listener 1883 0.0.0.0\` and \`allow_anonymous true\`, which
  2.0 needs to accept remote clients); each node is MQTT.js (the \`mqtt\` package, MQTT 3.1.1, at
  its defaults: keepalive 60 s, Nagle left on as MQTT.js leaves it; \`bench/agents/stores.ts\`) that publishes a
  write to \`b/<node>/<key>\` and subscribes to \`b/<other>/#\` for every other node, at QoS 1
  (acknowledged: the fair comparison) and QoS 0. A third broker with \`set_tcp_nodelay true\`
  (not a default) shows what Nagle on the broker's sockets does to the loaded latency. *Floor*: each write is one
  \`JSON.stringify({o, k, v})\` datagram to a multicast group from a plain \`dgram\` socket,
  received with \`JSON.parse\`: no crypto, no sequencing, no repair, no membership.
- **Latency** (1): one writer (node 0) writes key \`lat\` = a fresh integer; the figure for a
  write is the latest \`update\` event among all N-1 other nodes minus the writer's clock just
  before \`set()\`. One write outstanding at a time, then a random 0-5 ms pause; >= 1,000
  writes per run; p50/p99/max per run, median over runs. Before the first run every system
  gets the same unmeasured warm-up of 8,000 such writes (\`--warmup K\`): a daemon lives for
  days, and a fresh Node process runs its first writes in V8's lower tiers while TurboFan
  compiles its hot functions one at a time, on a thread of its own whose CPU counts in the
  process's. How many writes that takes grows with the code on the path: after 1,500 a DSN
  receiver still spent 48-59 us per write on compiler and GC threads (the secure floor 12-23),
  after 8,000 3-5 us; the row "of which threads besides the main one" (\`/proc/self/task/*/schedstat\`)
  shows it for every run, so an unfinished warm-up is seen, not guessed. Each measured idle
  run also follows 2,000 unmeasured writes of its own: while the other systems take their
  turns, an idle process's memory reducer collects the maps its optimized code depends on and
  V8 discards that code, so the system warmed first would be measured re-compiling (at N = 2
  DSN's writer spent 47-57 us per write on compiler and GC threads without it, 6 with it). *Loaded*: meanwhile 3 other nodes
  each write one key every 10 ms (300 writes/s into the mesh, each delivered to N-1 nodes).
- **Throughput** (2): a writer sets B distinct keys in one turn of its event loop (round r
  sets key j to r*B + j); each receiver reports when all B keys hold round r's values; the
  writer keeps at most W rounds outstanding (B = 200, W = 4 for one writer; B = 25, W = 2 for
  each of 10 writers, so at most 800 and 450 messages outstanding per subscriber: Mosquitto at
  its defaults drops QoS 1 messages once a client's queue passes \`max_queued_messages\` 1000,
  and did so at 900 in one run). Run for 10 s; rate = updates written / (last round held
  everywhere - first write). At the end every replica is compared to the writer's state.
- **CPU per write / per update**: \`process.cpuUsage()\` of every node process (and the broker's
  from \`/proc\`) before and after the idle latency run and the one-writer throughput run,
  divided by the writes or updates (the kernel's share, system time, in brackets in the log);
  "each receiver" is the mean over the non-writing nodes
  (it includes printing the \`update\` event as a JSON line in the latency run, the same for
  every system). On this lab the N node processes share 2 cores, so the latency to the last
  of N-1 receivers grows with the receivers' CPU per write: these rows say why. "At rest":
  each process's CPU over 3 s with nothing written, just before the idle latency run, scaled to
  the run's length and divided by its writes: the part of CPU per write that heartbeats and
  timers cost whether or not anything is written (about, since a node sending data skips some
  heartbeats). It is in the CPU per write and in the targets, not taken off them.
- **Wire** (3): sum of the tx counters of every lab host's eth0 (Ethernet frames as the
  kernel counts them, headers included; a multicast datagram counts once, as on a shared
  medium; the \`rx\` row counts the copies the bridge delivered to every port). K writes of a
  16-byte string (one every 100 ms, so each is alone, with its tail heartbeat); bytes per write
  = (bytes during the writes - the idle rate of windows before and after x that time) / K.
  Idle bytes/s per node: at the end the other systems are stopped, then DSN's node hosts' tx
  over 32 s (two periods of the signed heartbeat) from 4 s after a fresh start, minus as long
  a window with nothing running, / N. The floor has no timers; the
  MQTT clients only send a PINGREQ per 60 s keepalive (about 2 B/s per client and 1 B/s per
  client at the broker, not measured: the clients connected together, so their pings come in
  step and a short window catches all or none).
- **Loss** (4): \`lab.setLoss\` (UDP) and an equivalent nft rule for TCP drop the given share
  of packets on every host's bridge port, both directions (so a broker path crosses 4 lossy
  links, a multicast path 2). One writer writes rounds of 50 keys, one every 10 ms; time =
  the last receiver holding the whole round - the last write of the round; median and worst
  over the repetitions. At N = 20 the DSN run also traces Data datagrams (by packet number,
  decoded outside the node) to count the first transmissions lost by at least one receiver,
  and reads the engine counters (\`nacks-sent\`, \`nacks-received\`, \`resends\`,
  \`snapshots-sent\`) to give NACKs and resends per lost datagram.
- **Membership** (5): a node with a fresh id and identity starts on the spare host, no
  bootstrap list; time from the call of \`DSNode.start\` in its process to the last
  \`peer-up\` for it among the N running nodes. A node is killed with SIGKILL; time from the
  kill to the last \`peer-down\` among the others; it is restarted before the next repetition.
- **Footprint** (6): every node writes 100 keys (each then holds N x 100), then nothing is
  written for a quiet window; RSS and heap from \`process.memoryUsage()\`, CPU from
  \`process.cpuUsage()\` over the window (share of one core); median over nodes. The table
  gives the agent's RSS and the RSS of the same process before it loaded anything of ours. The bundled daemon under the
  service's Node flags is measured by \`scripts/bench-footprint.mjs\`, which is the figure to
  hold against the Python DSN's 42.5 MB. The broker's RSS and CPU come from \`/proc\`.`
