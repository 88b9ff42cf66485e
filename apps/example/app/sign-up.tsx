import { AuthForm } from '../src/auth-form'

export default function SignUp() {
  return <AuthForm mode="sign-up" />
}
