// cold-restore: time from client.start() to a usable access token when the session lives in
// expo-secure-store (the package's fake, 15 ms per native call), for a small and a large session,
// versus the common pattern of reading `accessToken` and `refreshToken` as two keys in turn.
import { createSessionClient, silentLogger } from '@latchkey/core'
import { loadFakeSecureStore, loadSecureStoreStorage } from '../lib/expo.mjs'
import { fakeJwt, median, now, ratio, round, log } from '../lib/util.mjs'

const LATENCY_MS = 15

const SIZES = {
  // A typical JWT access token (~0.6 KB) and an opaque refresh token.
  small: { padBytes: 0 },
  // An access token carrying many claims (roles, permissions, tenant data): ~8 KB.
  large: { padBytes: 6000 },
}

function tokenResponse(padBytes) {
  return {
    access_token: fakeJwt({ roles: ['reader', 'writer'] }, padBytes),
    token_type: 'Bearer',
    expires_in: 600,
    refresh_token: `${'r'.repeat(22)}.0.${'m'.repeat(43)}`,
  }
}

async function latchkeyRestore({ createFakeSecureStore, createSecureStoreStorage }, padBytes) {
  let latency = 0
  const fake = createFakeSecureStore({ latency: () => latency })
  const storage = createSecureStoreStorage({ secureStore: fake.module })
  let refreshes = 0
  const refresh = async () => {
    refreshes++
    throw new Error('a restore must not refresh')
  }
  const response = tokenResponse(padBytes)
  const setup = createSessionClient({ storage, refresh, logger: silentLogger })
  await setup.start()
  await setup.signIn(response)
  setup.stop()

  fake.clearCalls()
  latency = LATENCY_MS
  const client = createSessionClient({ storage, refresh, logger: silentLogger })
  const t0 = now()
  await client.start()
  const token = await client.getAccessToken()
  const ms = now() - t0
  client.stop()
  if (token !== response.access_token) throw new Error('latchkey restore returned a different token')
  if (refreshes) throw new Error('latchkey restore refreshed')
  return { ms, nativeCalls: fake.calls.length, storedItems: fake.keys().length, valueBytes: Buffer.byteLength(JSON.stringify(response)) }
}

async function commonRestore({ createFakeSecureStore }, padBytes) {
  let latency = 0
  const fake = createFakeSecureStore({ latency: () => latency })
  const store = fake.module
  const response = tokenResponse(padBytes)
  await store.setItemAsync('accessToken', response.access_token)
  await store.setItemAsync('refreshToken', response.refresh_token)
  fake.clearCalls()
  latency = LATENCY_MS
  const t0 = now()
  const accessToken = await store.getItemAsync('accessToken')
  const refreshToken = await store.getItemAsync('refreshToken')
  const ms = now() - t0
  if (accessToken !== response.access_token || !refreshToken) throw new Error('common restore lost a token')
  return { ms, nativeCalls: fake.calls.length }
}

export async function run({ quick }) {
  const deps = {
    createFakeSecureStore: await loadFakeSecureStore(),
    createSecureStoreStorage: await loadSecureStoreStorage(),
  }
  const iterations = quick ? 5 : 25
  const sizes = {}
  for (const [size, { padBytes }] of Object.entries(SIZES)) {
    const lk = []
    const common = []
    let lkCalls = 0
    let commonCalls = 0
    let extra = {}
    for (let i = 0; i < iterations; i++) {
      const a = await latchkeyRestore(deps, padBytes)
      const b = await commonRestore(deps, padBytes)
      lk.push(a.ms)
      common.push(b.ms)
      lkCalls = a.nativeCalls
      commonCalls = b.nativeCalls
      extra = { sessionBytes: a.valueBytes, secureStoreItems: a.storedItems }
    }
    const lkMs = median(lk)
    const commonMs = median(common)
    sizes[size] = {
      ...extra,
      latchkey: { ms: round(lkMs, 1), nativeCalls: lkCalls },
      commonPattern: { ms: round(commonMs, 1), nativeCalls: commonCalls },
      latchkeyOverCommon: ratio(lkMs, commonMs),
    }
    log(`${size}: latchkey ${round(lkMs, 1)} ms / ${lkCalls} calls, two keys ${round(commonMs, 1)} ms / ${commonCalls} calls`)
  }
  return {
    params: {
      nativeCallLatencyMs: LATENCY_MS,
      iterations,
      statistic: 'median',
      storage: 'createSecureStoreStorage (default chunkSize 2048 bytes) on the expo-secure-store fake',
      commonPattern: 'await getItemAsync("accessToken"); await getItemAsync("refreshToken") (a large value stays one item, which older platforms reject above 2048 bytes)',
    },
    ...sizes,
  }
}
