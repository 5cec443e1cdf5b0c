/** The chat model the service pays for. The example ships a local stand-in so it runs without one. */
export interface ChatModel {
  /** A reply and the tokens it cost (prompt and reply together). */
  complete(prompt: string): Promise<{ text: string; tokens: number }>;
}

/** A stand-in model: echoes the prompt and counts a token per word of prompt and reply. */
export const echoModel: ChatModel = {
  async complete(prompt) {
    const text = `You said: ${prompt}`;
    const words = (s: string) => s.split(/\s+/).filter(Boolean).length;
    return { text, tokens: words(prompt) + words(text) };
  },
};
