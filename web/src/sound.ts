// The console's alert sound: two short tones, switched off and on by the user and remembered
// on this browser. A browser that refuses sound before the first click stays silent.
import { ref, watch } from 'vue'

const SOUND_KEY = 'fengqiao.sound'
export const soundOn = ref(localStorage.getItem(SOUND_KEY) !== 'off')
watch(soundOn, (on) => localStorage.setItem(SOUND_KEY, on ? 'on' : 'off'))

let audio: AudioContext | null = null

export function chime(): void {
  if (!soundOn.value) return
  try {
    audio ??= new AudioContext()
    for (const [i, pitch] of [880, 660].entries()) {
      const osc = audio.createOscillator()
      const gain = audio.createGain()
      const at = audio.currentTime + i * 0.25
      osc.frequency.value = pitch
      gain.gain.setValueAtTime(0.2, at)
      gain.gain.exponentialRampToValueAtTime(0.001, at + 0.2)
      osc.connect(gain).connect(audio.destination)
      osc.start(at)
      osc.stop(at + 0.2)
    }
  } catch {
    /* no audio here */
  }
}
