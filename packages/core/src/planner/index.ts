export { DEFAULT_POLICY_YAML, defaultPolicy } from './default-policy.js';
export { type Explanation, explainInstance } from './explain.js';
export { generateScp, launchTemplateNameFor, unmeasuredLaunchWarning } from './lock-in.js';
export { type PlanBody, type PlanOptions, SCP_LAUNCH_NOTE, plan, planBody, verifyPlanHash } from './plan.js';
export { type PlanSummary, type WaveSummary, summarizePlan } from './summary.js';
export { runsContainers, targetHopLimit } from './targets.js';
