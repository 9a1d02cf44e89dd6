/** Supervision: OTP-style supervisors, child specs, restart intensity and backoff. */
export { Supervisor } from './supervisor.ts';
export type { RestartReason, TerminationReason } from './events.ts';
export type {
  BackoffOptions, ChildExit, ChildExitKind, ChildHandle, ChildInfo, ChildSpec, ChildState, Intensity, RestartType, StartContext,
  Strategy, SupervisorChildOptions, SupervisorOptions, SupervisorState,
} from './types.ts';
