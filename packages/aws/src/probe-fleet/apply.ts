import { classifyReadiness, type Assessment, type Instance, type ReadinessOptions } from '@imdsv2-cutover/core';
import { probeFleet, type InstanceProbe, type ProbeFleetOptions, type ProbeFleetResult } from './run.js';
import { selectionMode } from './select.js';

/**
 * Puts probe results into the instances and classifies them again: an IMDSv1 caller found names the culprit of a
 * blocked instance, an outdated SDK is a risk, a container host gets the hop-limit note (core's `classifyReadiness`).
 * Instances without a result keep theirs. Returns new instance objects; the input is not changed.
 */
export function applyProbeResults(instances: Instance[], result: ProbeFleetResult, opts: ReadinessOptions): Instance[] {
  return instances.map((i) => {
    const r = result.results.get(i.instanceId);
    if (!r) return i;
    // EC2's signals (cluster tags, image family) stand: a node of an EKS cluster runs containers even when the probe
    // saw no runtime at that moment. Otherwise the probe decides.
    const detected = r.probe.report?.containers.detected;
    const fromEc2 = i.containerHostSignal !== undefined && i.containerHostSignal.signal !== 'probe';
    const containerHost = fromEc2 ? true : (detected ?? i.containerHost);
    const next: Instance = {
      ...i,
      probe: r.probe,
      ssm: r.ssm ?? i.ssm,
      containerHost,
      ...(!fromEc2 && detected === true
        ? { containerHostSignal: { signal: 'probe' as const, detail: containerDetail(r.probe.report!) } }
        : {}),
    };
    return { ...next, readiness: classifyReadiness(next, opts) };
  });
}

function containerDetail(report: NonNullable<InstanceProbe['probe']['report']>): string {
  const runtimes = report.containers.runtimes;
  return runtimes.length > 0 ? `probe saw ${runtimes.join(', ')}` : 'probe saw a container runtime';
}

/**
 * Probes the assessment's instances (the selection picks among them) and returns the assessment with the findings and
 * the readiness they imply, plus the run's outcome counts and calls.
 */
export async function probeAssessment(
  assessment: Assessment,
  opts: Omit<ProbeFleetOptions, 'instances'>,
): Promise<{ assessment: Assessment; probe: ProbeFleetResult }> {
  const probe = await probeFleet({ ...opts, instances: assessment.instances });
  return {
    assessment: {
      ...assessment,
      scope: { ...assessment.scope, probe: selectionMode(opts.selection) },
      instances: applyProbeResults(assessment.instances, probe, {
        minObservationDays: assessment.scope.minObservationDays,
      }),
    },
    probe,
  };
}
