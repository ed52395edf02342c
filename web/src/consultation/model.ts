// Shapes the consultation API answers with, and small shared helpers of its pages.
import { useEffect, useRef } from 'react';

export interface Pathway {
  role: string;
  exemption: string | null;
  lastInPersonVisit: string | null;
  seenWithin12Months: boolean | null;
  reimbursable: boolean;
}

export interface Consultation {
  id: string;
  status: 'scheduled' | 'in_progress' | 'ended' | 'cancelled';
  mode: 'video' | 'in_person';
  startsAt: string;
  endsAt: string;
  doctor: { id: string; name: string };
  patient: { id: string; name: string } | null;
  pathway: Pathway;
  waitingSince: string | null;
  admittedAt: string | null;
  endedAt: string | null;
  durationSeconds: number | null;
  invitedEmail?: string;
}

export interface Slot {
  id: string;
  doctorId: string;
  doctorName: string;
  startsAt: string;
  endsAt: string;
  mode: 'video' | 'in_person';
  booked: boolean;
}

/** The signed-in user's live events (/api/live): a patient waiting, the agenda changed… Reconnects. */
export function useLiveEvents(onEvent: (event: { type: string; [field: string]: unknown }) => void): void {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    let socket: WebSocket | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const open = () => {
      const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
      socket = new WebSocket(`${scheme}//${window.location.host}/api/live`);
      socket.onmessage = (message) => {
        try {
          handler.current(JSON.parse(String(message.data)) as { type: string });
        } catch {
          // Not JSON: ignore.
        }
      };
      socket.onclose = () => {
        if (!stopped) timer = setTimeout(open, 3_000);
      };
    };
    open();
    return () => {
      stopped = true;
      clearTimeout(timer);
      socket?.close(1000);
    };
  }, []);
}
