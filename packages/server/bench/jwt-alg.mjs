// Measures jose sign + verify for the two asymmetric algorithms the server may use for access
// tokens (ES256, EdDSA/Ed25519), so the default is chosen on figures from this machine.
// Run: node packages/server/bench/jwt-alg.mjs [iterations]
import { SignJWT, generateKeyPair, jwtVerify } from 'jose'

const iterations = Number(process.argv[2] ?? 3000)
const claims = { sid: 'c2Vzc2lvbi1pZC0xMjM0NTY', jti: 'an-id' }

async function measure(alg, crv) {
  const { privateKey, publicKey } = await generateKeyPair(alg, crv ? { crv } : undefined)
  const sign = () =>
    new SignJWT(claims)
      .setProtectedHeader({ alg, kid: 'k1', typ: 'at+jwt' })
      .setIssuer('http://127.0.0.1:8787')
      .setAudience('http://127.0.0.1:8787')
      .setSubject('user-1')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey)
  const token = await sign()
  for (let i = 0; i < 200; i++) await jwtVerify(await sign(), publicKey, { algorithms: [alg] }) // warm-up
  let t = performance.now()
  for (let i = 0; i < iterations; i++) await sign()
  const signUs = ((performance.now() - t) * 1000) / iterations
  t = performance.now()
  for (let i = 0; i < iterations; i++) await jwtVerify(token, publicKey, { algorithms: [alg] })
  const verifyUs = ((performance.now() - t) * 1000) / iterations
  return { alg, signUs: Math.round(signUs * 10) / 10, verifyUs: Math.round(verifyUs * 10) / 10, bytes: token.length }
}

const results = []
for (const round of [1, 2]) {
  for (const [alg, crv] of [['ES256'], ['EdDSA', 'Ed25519']]) results.push({ round, ...(await measure(alg, crv)) })
}
for (const r of results) console.log(JSON.stringify({ bench: 'jwt-alg', iterations, ...r }))
