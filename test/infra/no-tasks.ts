/** A module that defines no task: the Orchestrator refuses it. */
export const nothing = 1;
