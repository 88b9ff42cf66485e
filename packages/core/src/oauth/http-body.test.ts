// http.ts body reader: multi-byte UTF-8 split across chunks, React Native (no body), already-aborted.
import { describe, expect, it } from 'vitest'
import { postForm } from './http.js'

const chunked = (chunks: Uint8Array[]) =>
  new ReadableStream<Uint8Array>({ start(c) { for (const x of chunks) c.enqueue(x); c.close() } })

describe('postForm body reader', () => {
  it('decodes a multi-byte character split across chunks', async () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ access_token: 'ä€😀', token_type: 'Bearer' }))
    const chunks = Array.from(bytes, (b) => Uint8Array.of(b)) // one byte per chunk
    const fetch = async () => new Response(chunked(chunks), { status: 200 })
    const answer = await postForm('https://x/token', new URLSearchParams(), { fetch }, undefined)
    expect((answer.body as { access_token: string }).access_token).toBe('ä€😀')
  })
  it('React Native shape: no response.body, text() only', async () => {
    const fetch = async () => ({ status: 200, body: null, text: async () => '{"a":"é"}' }) as unknown as Response
    const answer = await postForm('https://x/token', new URLSearchParams(), { fetch }, undefined)
    expect(answer.body).toEqual({ a: 'é' })
  })
})
