import { ControlClient } from '../../daemon/control-client'

/** Runs fn on one connection to the daemon, closed afterwards. */
export async function withClient<T>(socketPath: string, fn: (client: ControlClient) => Promise<T>): Promise<T> {
  const client = await ControlClient.connect(socketPath)
  try {
    return await fn(client)
  } finally {
    client.close()
  }
}
