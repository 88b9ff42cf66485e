/** The Latchkey server sets the refresh token as an httpOnly cookie when a request carries this. */
export const TOKEN_DELIVERY_HEADER = 'X-Latchkey-Token-Delivery'
