/** The messages the server sends, each in text and HTML (the HTML escapes every value it shows). */

export interface Rendered {
  subject: string
  text: string
  html: string
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)

function html(title: string, paragraphs: string[], code?: string): string {
  return `<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.4">
<h1 style="font-size:1.2rem">${escapeHtml(title)}</h1>
${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}
${code ? `<p style="font-size:1.6rem;letter-spacing:.2em;font-family:monospace"><strong>${escapeHtml(code)}</strong></p>` : ''}
</body></html>`
}

export function passwordResetMail(o: { appName: string; code: string; minutes: number }): Rendered {
  const subject = `${o.appName}: your password reset code`
  const lines = [`Someone (hopefully you) asked to reset the password of your ${o.appName} account.`, `Your code, valid for ${o.minutes} minutes:`]
  const after = 'If you did not ask for it, ignore this message: your password stays as it is.'
  return {
    subject,
    text: `${lines.join('\n')}\n\n    ${o.code}\n\n${after}\n`,
    html: html(subject, lines, o.code).replace('</body>', `<p>${escapeHtml(after)}</p></body>`),
  }
}

export function verifyEmailMail(o: { appName: string; code: string; minutes: number }): Rendered {
  const subject = `${o.appName}: confirm your email address`
  const lines = [`Enter this code in ${o.appName} to confirm that this address is yours. It is valid for ${o.minutes} minutes:`]
  const after = 'If you did not create an account, ignore this message.'
  return {
    subject,
    text: `${lines.join('\n')}\n\n    ${o.code}\n\n${after}\n`,
    html: html(subject, lines, o.code).replace('</body>', `<p>${escapeHtml(after)}</p></body>`),
  }
}

/** Sign-up with an address that has an account, while verification is required: told to the owner instead of answered (no enumeration). */
export function signUpAttemptMail(o: { appName: string }): Rendered {
  const subject = `${o.appName}: someone tried to sign up with your address`
  const lines = [
    `Someone (maybe you) tried to create a ${o.appName} account with this address, which already has one.`,
    'If it was you, sign in instead, or reset your password if you forgot it. If not, ignore this message: nothing changed.',
  ]
  return { subject, text: `${lines.join('\n\n')}\n`, html: html(subject, lines) }
}
