import { render } from 'preact';
import { prefetch } from './api.ts';
import { App } from './app.tsx';
import './console.css';

// The key list is the page most visits open.
if (/^(#\/?(keys)?)?$/.test(location.hash)) prefetch('keys');
render(<App />, document.getElementById('app')!);
