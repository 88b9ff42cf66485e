// Turns the server's RFC 6749 §5.2-shaped errors and network failures into words for people.
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export async function errorFromResponse(res: Response): Promise<ApiError> {
  let code = 'server_error'
  let description = ''
  try {
    const body = (await res.json()) as { error?: string; error_description?: string }
    code = body.error ?? code
    description = body.error_description ?? ''
  } catch {
    // not JSON: fall through to the status text
  }
  if (res.status === 429) {
    const wait = Number(res.headers.get('Retry-After') ?? '0')
    const when = wait > 0 ? `in ${wait} second${wait === 1 ? '' : 's'}` : 'in a moment'
    return new ApiError(`Too many attempts. Try again ${when}.`, 429, 'rate_limited')
  }
  if (res.status === 401 && (code === 'invalid_grant' || code === 'invalid_credentials')) {
    return new ApiError('Wrong email or password.', 401, code)
  }
  if (res.status === 409) return new ApiError('An account with this email already exists.', 409, code)
  return new ApiError(description || `Request failed (${res.status}).`, res.status, code)
}

export function describeError(err: unknown): string {
  if (err instanceof ApiError) return err.message
  if (err instanceof TypeError) return 'Cannot reach the server. Check your connection.'
  if (err && typeof err === 'object' && 'code' in err && (err as { code: string }).code === 'LK_NETWORK') {
    return 'Cannot reach the server. Check your connection.'
  }
  return 'Something went wrong. Please try again.'
}
