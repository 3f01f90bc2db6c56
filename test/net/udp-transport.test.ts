// Multicast setup errors (issue 14): the raw errno comes with what failed and the settings that avoid multicast.
import t from 'tap'
import { multicastSetupError } from '../../src/net/udp-transport'

t.test('ENOPROTOOPT (qemu-user) and EADDRNOTAVAIL are explained with multicast: false + staticPeers', async (t) => {
  const qemu = multicastSetupError('setMulticastInterface 10.0.0.2', new Error('setMulticastInterface ENOPROTOOPT'))
  t.equal(qemu.code, 'DSN_SOCKET')
  t.match(qemu.message, /^multicast setup failed \(setMulticastInterface 10\.0\.0\.2: ENOPROTOOPT\): this platform or emulator \(e\.g\. qemu-user\)/)
  t.match(qemu.message, /set multicast: false \(DSN_MULTICAST=false\) and list the other nodes in staticPeers/)
  const gone = multicastSetupError('joining 239.1.2.3 on 10.0.0.2', Object.assign(new Error('addMembership EADDRNOTAVAIL'), { code: 'EADDRNOTAVAIL' }))
  t.match(gone.message, /EADDRNOTAVAIL\): the interface has no such IPv4 address/)
  t.match(multicastSetupError('setMulticastTTL 1', new Error('something odd')).message, /something odd.*multicast: false/)
})
