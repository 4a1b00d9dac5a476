// Server-sent events of an OpenAI-style stream, as the load and soak scripts read them.
//
//   for await (const event of sseEvents(response)) { if (event.done) ...; else use(event.chunk); }
//
// Yields { chunk } for each `data: {...}` event (parsed JSON) and { done: true } for
// `data: [DONE]`; other lines (comments, keep-alives) are skipped.
export async function* sseEvents(response) {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const bytes of response.body) {
    buffer += decoder.decode(bytes, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (event === 'data: [DONE]') yield { done: true };
      else if (event.startsWith('data: ')) yield { chunk: JSON.parse(event.slice(6)) };
    }
  }
}
